// Quoted earlier messages in replies, as other mail clients and languages write them: a customer's
// reply sent over real SMTP (by the [CB-…] tag, from the customer's address) keeps exactly the new
// text in its work-log entry; the attribution line or header block and the quote below it go.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { startTestInbound } from '../helpers/inbound.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import type { Actor } from '../../src/services/context.js';
import { simpleTrim } from '../../src/mail/parse.js';
import { cutQuotes } from '../../src/mail/quotes.js';

let db: TestDatabase;
let smtp: InboundSmtp;
let tech: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db);
  tech = await buildUser(db, { name: 'Tess Quotes' });
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const address = () => `quotes-${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}@customer.test`;

/** What the quoted earlier message (Caseboard's own reply) says. */
const QUOTED = ['Hello Anna,', '', 'we have logged your request and will come back to you.', '', 'Caseboard Support'];
const quoted = (prefix = '> ') => QUOTED.map((l) => (l ? prefix + l : prefix.trimEnd())).join('\n');
const plain = QUOTED.join('\n');

/** Sends `text` as the customer's reply to a new ticket of theirs; the customer-reply entries' text. */
async function reply(text: string): Promise<string[]> {
  const email = address();
  const ticket = await buildTicket(db, tech, { customer: { name: 'Anna Berg', email } });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ from: `Anna Berg <${email}>`, to: 'support@caseboard.test', subject: `Re: [${ticket.reference}] Your request`, text });
  } finally {
    transport.close();
  }
  const entries = await db.prisma.workLogEntry.findMany({ where: { ticketId: ticket.id, kind: 'CUSTOMER_REPLY' }, orderBy: { id: 'asc' } });
  return entries.map((e) => e.body);
}

const NEW = 'Danke, der Drucker geht wieder.\nNur das Fach 2 zieht noch schief ein.';

describe('a reply quoting the earlier message is trimmed to the new text', () => {
  const cases: [string, string][] = [
    ['Thunderbird, German', `${NEW}\n\nAm 03.12.2026 um 10:15 schrieb Anna Berg <anna@x.test>:\n${quoted()}\n`],
    ['Thunderbird, French', `${NEW}\n\nLe 3 déc. 2026 à 10:15, Anna Berg <anna@x.test> a écrit :\n${quoted()}\n`],
    ['Gmail, Spanish', `${NEW}\n\nEl mar, 3 dic 2026 a las 10:15, Anna (<anna@x.test>) escribió:\n${quoted()}\n`],
    ['Apple Mail, Dutch', `${NEW}\n\nOp 3 dec. 2026 om 10:15 schreef Anna Berg <anna@x.test>:\n\n${quoted()}\n`],
    ['Gmail, Italian', `${NEW}\n\nIl giorno mer 3 dic 2026 alle ore 10:15 Anna Berg <anna@x.test> ha scritto:\n${quoted()}\n`],
    ['Gmail, Portuguese', `${NEW}\n\nEm qua., 3 de dez. de 2026 às 10:15, Anna Berg <anna@x.test> escreveu:\n${quoted()}\n`],
    ['Thunderbird, Swedish', `${NEW}\n\nDen 2026-12-03 kl. 10:15, skrev Anna Berg <anna@x.test>:\n${quoted()}\n`],
    ['Gmail, English, attribution wrapped on two lines', `${NEW}\n\nOn Thu, Dec 3, 2026 at 10:15 AM Caseboard Support <support@caseboard.test>\nwrote:\n${quoted()}\n`],
    ['Gmail, German, attribution wrapped on two lines', `${NEW}\n\nAm Do., 3. Dez. 2026 um 10:15 Uhr schrieb Caseboard Support <\nsupport@caseboard.test>:\n${quoted()}\n`],
    ['Apple Mail, English', `${NEW}\n\n> On 3 Dec 2026, at 10:15, Caseboard Support <support@caseboard.test> wrote:\n> \n${quoted()}\n`],
    ['Apple Mail, German', `${NEW}\n\n> Am 03.12.2026 um 10:15 schrieb Caseboard Support <support@caseboard.test>:\n> \n${quoted()}\n`],
    ['Outlook, English, "Original Message"', `${NEW}\n\n-----Original Message-----\nFrom: Caseboard Support\nSent: Thursday, December 3, 2026 10:15 AM\nTo: Anna Berg\nSubject: Your request\n\n${plain}\n`],
    ['Outlook, German, "Ursprüngliche Nachricht"', `${NEW}\n\n-----Ursprüngliche Nachricht-----\nVon: Caseboard Support\nGesendet: Donnerstag, 3. Dezember 2026 10:15\nAn: Anna Berg\nBetreff: Ihre Anfrage\n\n${plain}\n`],
    ['Outlook, French, "Message d\'origine"', `${NEW}\n\n-----Message d'origine-----\nDe : Caseboard Support\nEnvoyé : jeudi 3 décembre 2026 10:15\nÀ : Anna Berg\nObjet : Votre demande\n\n${plain}\n`],
    ['Outlook, English header block', `${NEW}\n\n________________________________\nFrom: Caseboard Support <support@caseboard.test>\nSent: Thursday, December 3, 2026 10:15 AM\nTo: Anna Berg <anna@x.test>\nSubject: Re: Your request\n\n${plain}\n`],
    ['Outlook, German header block without separator', `${NEW}\n\nVon: Caseboard Support\nGesendet: Donnerstag, 3. Dezember 2026 10:15\nAn: Anna Berg\nBetreff: AW: Ihre Anfrage\n\n${plain}\n`],
    ['Outlook, French header block without separator', `${NEW}\n\nDe : Caseboard Support\nEnvoyé : jeudi 3 décembre 2026 10:15\nÀ : Anna Berg\nObjet : RE: Votre demande\n\n${plain}\n`],
    ['Lotus Notes', `${NEW}\n\n\n\nFrom:\tCaseboard Support <support@caseboard.test>\nTo:\tAnna Berg/Sales/Example@Example\nDate:\t03.12.2026 10:15\nSubject:\tYour request\n\n${plain}\n`],
    ['Lotus Notes, German', `${NEW}\n\n\n\nVon:\tCaseboard Support <support@caseboard.test>\nAn:\tAnna Berg/Sales/Example@Example\nDatum:\t03.12.2026 10:15\nBetreff:\tIhre Anfrage\n\n${plain}\n`],
  ];
  for (const [client, text] of cases) {
    it(`(${client})`, async () => {
      expect(await reply(text)).toEqual([NEW]);
    });
  }

  it('(bottom-posted, Thunderbird German: quote first, new text below)', async () => {
    const text = `Am 03.12.2026 um 10:15 schrieb Caseboard Support <support@caseboard.test>:\n${quoted()}\n\n${NEW}\n`;
    expect(await reply(text)).toEqual([NEW]);
  });

  it('(bottom-posted, plain ">" quote first, new text below)', async () => {
    expect(await reply(`${quoted()}\n\n${NEW}\n`)).toEqual([NEW]);
  });
});

describe('a reply without a quote is kept whole', () => {
  it('(a "Von: Buchhaltung" line in the middle of the customer\'s own text)', async () => {
    const text = 'Hallo,\n\ndie Rechnung kam mit dem Absender\nVon: Buchhaltung\nund ohne Anhang.\nBitte noch einmal schicken.';
    expect(await reply(text)).toEqual([text]);
  });

  it('(a line "From: the warehouse" followed by more of their own text)', async () => {
    const text = 'The parcel arrived today.\nFrom: the warehouse in Leeds\nSent: by courier\nThe box was damaged.';
    expect(await reply(text)).toEqual([text]);
  });
});

describe('the pre-pass (src/mail/quotes.ts)', () => {
  it('is used by the linear fallback too (German Outlook, bottom-posting)', () => {
    expect(simpleTrim(`${NEW}\n\nVon: Caseboard Support\nGesendet: Donnerstag\nAn: Anna Berg\nBetreff: AW: Ihre Anfrage\n\n${plain}\n`).trim()).toBe(NEW);
    expect(simpleTrim(`Am 03.12.2026 um 10:15 schrieb Support <s@x.test>:\n${quoted()}\n\n${NEW}\n`).trim()).toBe(NEW);
  });

  it('takes linear time on hostile input (64 KB of almost-attributions and almost-headers)', () => {
    for (const line of ['Am x schrieb y <', 'Von: x', 'On a b c d e f', '> Op x schreef y', '-'.repeat(200), 'Den ' + 'a '.repeat(500)]) {
      const input = `${line}\n`.repeat(Math.ceil(65536 / (line.length + 1)));
      const started = performance.now();
      cutQuotes(input);
      expect(performance.now() - started).toBeLessThan(250);
    }
  });
});
