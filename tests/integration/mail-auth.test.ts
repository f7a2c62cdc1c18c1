// Mail that pretends: the organisation's mail server's Authentication-Results (trusted only for a
// configured authserv-id, at the top), forged senders held in quarantine, and the backscatter
// policy for the "request received" mail. Real messages over SMTP to the listener.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type TestAgent from 'supertest/lib/agent.js';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import type { MessageIds } from '../../src/mail/message-id.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { startTestInbound, testMessageIds } from '../helpers/inbound.js';
import { renderMail } from '../../src/mail/render.js';
import type { MailPayload } from '../../src/services/mail/outbox.js';

const OWN = 'Caseboard Support <support@caseboard.test>';
const SUPPORT = 'support@caseboard.test';
const TRUSTED = 'mx.caseboard.test';
const ACK_PER_ADDRESS = 2;
const ACK_PER_DOMAIN = 3;

let db: TestDatabase;
let ids: MessageIds;
let smtp: InboundSmtp;
let app: Express;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ids = testMessageIds();
  smtp = await startTestInbound(
    db,
    {
      INBOUND_MAX_BYTES: 256 * 1024,
      INBOUND_MAX_NEW_PER_HOUR: 50,
      MAIL_FROM: OWN,
      MAIL_TRUSTED_AUTHSERV_ID: [TRUSTED, 'mx2.caseboard.test'],
      MAIL_ACK_MAX_PER_ADDRESS: ACK_PER_ADDRESS,
      MAIL_ACK_MAX_PER_DOMAIN: ACK_PER_DOMAIN,
    },
    ids,
  );
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tess Triage' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
/** Every test its own domain, so that the per-domain limit of one does not touch another. */
const domain = () => `cust-${unique()}.test`;

async function send(message: Mail.Options) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({ to: SUPPORT, ...message });
  } finally {
    transport.close();
  }
}

/** A raw message with these header fields on top (in this order), as an MTA hands it over. */
function raw(fields: string[], from: string, subject: string, text: string, extra: string[] = []) {
  return [...fields, `From: ${from}`, `To: ${SUPPORT}`, `Subject: ${subject}`, `Message-ID: <${unique()}@mail.test>`, ...extra, '', text, ''].join('\r\n');
}

async function changesDuring(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await countRows(db);
  await run();
  const after = await countRows(db);
  return Object.fromEntries(Object.keys(after).filter((t) => after[t] !== before[t]).map((t) => [t, after[t]! - before[t]!]));
}

const lastFrom = async (fromAddress: string) =>
  (await db.prisma.inboundMail.findMany({ where: { fromAddress }, orderBy: { id: 'desc' }, take: 1 }))[0]!;

const dmarcFail = (d: string, id = TRUSTED) =>
  `Authentication-Results: ${id}; spf=pass smtp.mailfrom=attacker.test; dkim=none (no signature); dmarc=fail (p=reject dis=none) header.from=${d}`;
const dmarcPass = (d: string, id = TRUSTED) =>
  `Authentication-Results: ${id};\r\n spf=pass smtp.mailfrom=${d};\r\n dkim=pass header.d=${d} header.s=s1 header.b="abc/+de=";\r\n dmarc=pass header.from=${d}`;

describe('a forged sender', () => {
  it("with the trusted server's dmarc=fail is quarantined with the reason: no reply on the customer's ticket", async () => {
    const d = domain();
    const customer = `olga@${d}`;
    const ticket = await buildTicket(db, tech, { customer: { name: 'Olga Owner', email: customer } });
    const changed = await changesDuring(() =>
      send({
        envelope: { from: 'bounce@attacker.test', to: [SUPPORT] },
        raw: raw([dmarcFail(d)], `Olga Owner <${customer}>`, `Re: [${ticket.reference}] Your request`, 'Please send the invoices to my new address.'),
      }),
    );
    expect(changed).toEqual({ InboundMail: 1 });
    const mail = await lastFrom(customer);
    expect(mail).toMatchObject({ state: 'QUARANTINED', ticketId: null, matchedTicketId: ticket.id, authStatus: 'FAIL', envelopeSender: 'bounce@attacker.test' });
    expect(mail.reason).toContain(`Not authenticated: DMARC failed for the From domain ${d}.`);
    expect(mail.reason).toContain('dmarc=fail header.from=' + d);
    expect(mail.reason).toContain('The envelope sender (MAIL FROM) bounce@attacker.test is of another domain than the From address.');
    expect(await db.prisma.workLogEntry.count({ where: { ticketId: ticket.id } })).toBe(0);
  });

  it('with dmarc=fail opens no ticket and gets no acknowledgement', async () => {
    const victim = `victim@${domain()}`;
    const changed = await changesDuring(() =>
      send({ raw: raw([dmarcFail(victim.split('@')[1]!)], victim, 'Cheap pills at evil.example', 'Buy now.'), envelope: { from: victim, to: [SUPPORT] } }),
    );
    expect(changed).toEqual({ InboundMail: 1 });
    expect(await lastFrom(victim)).toMatchObject({ state: 'QUARANTINED', authStatus: 'FAIL' });
  });

  it('without DMARC, with neither SPF nor DKIM aligned to the From domain, is quarantined too', async () => {
    const d = domain();
    const from = `sam@${d}`;
    const header = `Authentication-Results: ${TRUSTED}; spf=softfail smtp.mailfrom=${d}; dkim=pass header.d=other.test`;
    const changed = await changesDuring(() => send({ raw: raw([header], from, 'Hello', 'Hi.'), envelope: { from, to: [SUPPORT] } }));
    expect(changed).toEqual({ InboundMail: 1 });
    const mail = await lastFrom(from);
    expect(mail).toMatchObject({ state: 'QUARANTINED', authStatus: 'FAIL' });
    expect(mail.reason).toContain('Neither SPF nor DKIM passed');
  });

  it('claimed by an untrusted authserv-id is not believed (nor a trusted id below an untrusted one)', async () => {
    const d = domain();
    const customer = `ute@${d}`;
    const ticket = await buildTicket(db, tech, { customer: { name: 'Ute', email: customer } });
    // A forged "fail" from someone else's server is ignored: the customer's reply goes in…
    await send({ raw: raw([dmarcFail(d, 'mx.attacker.test')], customer, `Re: [${ticket.reference}]`, 'First reply.'), envelope: { from: customer, to: [SUPPORT] } });
    expect(await lastFrom(customer)).toMatchObject({ state: 'ADDED', authStatus: 'NONE', authResults: null });
    // …and a "pass" claiming our id under another server's field proves nothing either.
    const stranger = `eve@${d}`;
    await send({
      raw: raw([`Authentication-Results: mx.other.test; none`, dmarcPass(d)], stranger, 'New problem', 'Hello.'),
      envelope: { from: stranger, to: [SUPPORT] },
    });
    const mail = await lastFrom(stranger);
    expect(mail).toMatchObject({ state: 'NEW_TICKET', authStatus: 'NONE' });
    // Not authenticated by our server: a ticket, but no mail to that address.
    expect(mail.reason).toContain('No acknowledgement mailed: the sender is not authenticated');
    expect(await db.prisma.outboundMail.count({ where: { recipient: stranger } })).toBe(0);
  });

  it('a genuine reply (dmarc=pass from the trusted server, several fields at the top) goes in as before', async () => {
    const d = domain();
    const customer = `gina@${d}`;
    const ticket = await buildTicket(db, tech, { customer: { name: 'Gina', email: customer } });
    await send({
      raw: raw([`Authentication-Results: mx2.caseboard.test 1; iprev=pass (ok) smtp.remote-ip=192.0.2.1`, dmarcPass(d)], customer, `Re: [${ticket.reference}]`, 'Thanks, it works.'),
      envelope: { from: customer, to: [SUPPORT] },
    });
    expect(await lastFrom(customer)).toMatchObject({ state: 'ADDED', authStatus: 'PASS' });
  });
});

describe('the quarantine page', () => {
  it('shows why a forged message is held: the failed check, the results and the other envelope domain', async () => {
    const d = domain();
    const customer = `paula@${d}`;
    await buildTicket(db, tech, { customer: { name: 'Paula', email: customer } });
    await send({ envelope: { from: 'bounce@attacker.test', to: [SUPPORT] }, raw: raw([dmarcFail(d)], customer, 'Change my bank details', 'IBAN …') });
    const mail = await lastFrom(customer);
    const page = await agent.get('/mail/quarantine').expect(200);
    const item = page.text.slice(page.text.indexOf(`id="mail-${mail.id}"`));
    for (const text of ['Not authenticated: DMARC failed', 'bounce@attacker.test', 'another domain than From', 'Failed', `dmarc=fail header.from=${d}`]) {
      expect(item.slice(0, 4000)).toContain(text);
    }
  });

  it("attaches a forged message from the customer's address as a note, not as their reply", async () => {
    const d = domain();
    const customer = `nora@${d}`;
    const ticket = await buildTicket(db, tech, { customer: { name: 'Nora', email: customer } });
    await send({ raw: raw([dmarcFail(d)], customer, `Re: [${ticket.reference}]`, 'Forged words.'), envelope: { from: customer, to: [SUPPORT] } });
    const mail = await lastFrom(customer);
    await agent.post(`/mail/quarantine/${mail.id}/attach`).type('form').send({ _csrf: csrf, reference: ticket.reference }).expect(303);
    const entries = await db.prisma.workLogEntry.findMany({ where: { ticketId: ticket.id } });
    expect(entries).toMatchObject([{ kind: 'NOTE', authorId: tech.id, authorCustomerId: null }]);
  });
});

describe('acknowledgements (backscatter)', () => {
  it("never echo the sender's subject, name or text: only the reference and a generic text", async () => {
    const d = domain();
    const from = `newbie@${d}`;
    const subject = 'WIN A PRIZE at http://spam.example/now';
    await send({ raw: raw([dmarcPass(d)], `"Visit spam.example" <${from}>`, subject, 'Click http://spam.example/now'), envelope: { from, to: [SUPPORT] } });
    const mail = await lastFrom(from);
    expect(mail).toMatchObject({ state: 'NEW_TICKET' });
    const [ack] = await db.prisma.outboundMail.findMany({ where: { recipient: from } });
    expect(ack).toMatchObject({ kind: 'TICKET_CREATED' });
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
    const rendered = renderMail('TICKET_CREATED', ack!.payload as unknown as MailPayload, 'https://desk.example/s/token');
    expect(rendered.subject).toBe(`[${ticket.reference}] Your request was received`);
    for (const part of [rendered.subject, rendered.text, rendered.html]) {
      expect(part).not.toContain('spam.example');
      expect(part).not.toContain('PRIZE');
    }
    expect(rendered.text).toContain(ticket.reference);
    expect(mail).toMatchObject({ authStatus: 'PASS', reason: null });
  });

  it(`are limited to ${ACK_PER_ADDRESS} per address and ${ACK_PER_DOMAIN} per domain within the hour`, async () => {
    const d = domain();
    const one = `many@${d}`;
    for (let i = 0; i < ACK_PER_ADDRESS + 1; i++) {
      await send({ raw: raw([dmarcPass(d)], one, `Problem ${i}`, `Number ${i}.`), envelope: { from: one, to: [SUPPORT] } });
    }
    expect(await db.prisma.outboundMail.count({ where: { recipient: one } })).toBe(ACK_PER_ADDRESS);
    const last = await lastFrom(one);
    expect(last.state).toBe('NEW_TICKET');
    expect(last.reason).toContain(`No acknowledgement mailed: ${ACK_PER_ADDRESS} acknowledgements already went to this address`);

    // Other addresses of the same domain: the domain's limit counts them all (2 so far).
    for (const who of ['a', 'b', 'c']) {
      const from = `${who}@${d}`;
      await send({ raw: raw([dmarcPass(d)], from, `From ${who}`, 'Hello.'), envelope: { from, to: [SUPPORT] } });
    }
    const acks = await db.prisma.outboundMail.count({ where: { recipient: { endsWith: `@${d}` } } });
    expect(acks).toBe(ACK_PER_DOMAIN);
    expect((await lastFrom(`c@${d}`)).reason).toContain(`${ACK_PER_DOMAIN} acknowledgements already went to ${d}`);
  });

  it('are not sent to mailing-list mail', async () => {
    const d = domain();
    const from = `list@${d}`;
    await send({ raw: raw([dmarcPass(d)], from, 'Weekly digest', 'News.', ['List-Id: <news.lists.test>']), envelope: { from, to: [SUPPORT] } });
    expect((await lastFrom(from)).reason).toContain('mailing-list mail (list-id)');
    expect(await db.prisma.outboundMail.count({ where: { recipient: from } })).toBe(0);
  });
});
