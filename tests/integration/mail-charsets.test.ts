// Email in, as it really arrives: messages in the charsets real mail clients send (declared,
// missing, mislabelled, UTF-7) and HTML-only mail must come out as the text the sender wrote.
// Each message is written here byte by byte (raw RFC 5322) and sent over real SMTP as it is
// (nodemailer's `raw`), then the ticket and the InboundMail record are read back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { sendRaw, startTestInbound } from '../helpers/inbound.js';

const SUPPORT = 'support@caseboard.test';
let db: TestDatabase;
let smtp: InboundSmtp;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db);
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const address = (who: string) => `${who}-${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}@customer.test`;

type Part = string | Buffer;
/** A raw message: header lines and body, each a string of ASCII or the exact bytes. */
const raw = (headers: Part[], body: Part): Buffer =>
  Buffer.concat([...headers.flatMap((h) => [Buffer.from(h), Buffer.from('\r\n')]), Buffer.from('\r\n'), Buffer.from(body)]);
/** "Name: " followed by the exact bytes. */
const header = (name: string, bytes: Buffer) => Buffer.concat([Buffer.from(`${name}: `), bytes]);
const crlf = (text: string) => text.replace(/\n/g, '\r\n');

/** Sends the bytes as they are, the way an MTA hands them over; the message's InboundMail and ticket. */
async function deliver(from: string, message: Buffer) {
  await sendRaw(smtp, { from, to: [SUPPORT] }, message);
  const mail = await db.prisma.inboundMail.findFirstOrThrow({ where: { fromAddress: from } });
  const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
  return { mail, ticket };
}

const common = (from: string, id: string) => [`Message-ID: <${id}-${randomBytes(4).toString('hex')}@mua.test>`, 'Date: Mon, 7 Apr 2025 09:12:44 +0200', 'MIME-Version: 1.0', `To: ${SUPPORT}`];

describe('inbound mail in real-world charsets', () => {
  it('Outlook Express 6: Latin-1 subject, sender name and body without encoded words or charset', async () => {
    const from = address('oe6');
    const subject = 'Problème de connexion à la messagerie';
    const body = "Bonjour,\n\nje n'arrive plus à me connecter depuis la mise à jour de vendredi.\nLe message d'erreur dit « mot de passe refusé ».\n\nFrançois Hébert";
    const { mail, ticket } = await deliver(
      from,
      raw(
        [
          header('From', Buffer.concat([Buffer.from('"'), Buffer.from('François Hébert', 'latin1'), Buffer.from(`" <${from}>`)])),
          header('Subject', Buffer.from(subject, 'latin1')),
          ...common(from, 'oe6'),
          'X-Mailer: Microsoft Outlook Express 6.00.2900.5512',
          'Content-Transfer-Encoding: 8bit',
        ],
        Buffer.from(crlf(body), 'latin1'),
      ),
    );
    expect(mail).toMatchObject({ subject, fromName: 'François Hébert', body });
    expect(ticket).toMatchObject({ title: subject, description: body });
  });

  it('Japanese Shift_JIS subject and body without any charset declared', async () => {
    const from = address('sjis');
    const subject = '注文した商品がまだ届きません';
    const body = 'お世話になっております。\n先週注文した商品がまだ届いていません。\n配送状況を確認していただけますでしょうか。\n\n山田太郎';
    const { mail, ticket } = await deliver(
      from,
      raw(
        [`From: ${from}`, header('Subject', iconv.encode(subject, 'shift_jis')), ...common(from, 'sjis'), 'Content-Type: text/plain', 'Content-Transfer-Encoding: 8bit'],
        iconv.encode(crlf(body), 'shift_jis'),
      ),
    );
    expect(mail).toMatchObject({ subject, body });
    expect(ticket).toMatchObject({ title: subject, description: body });
  });

  it('Russian KOI8-R body from an old The Bat! without a charset', async () => {
    const from = address('koi8');
    const body = 'Здравствуйте!\n\nНе могу войти в личный кабинет: пишет, что пароль неверный, хотя я его не менял.\n\nС уважением,\nИван Петров';
    const { mail } = await deliver(
      from,
      raw([`From: ${from}`, 'Subject: Login problem', ...common(from, 'koi8'), 'X-Mailer: The Bat! (v3.0.1.33)', 'Content-Type: text/plain'], iconv.encode(crlf(body), 'koi8-r')),
    );
    expect(mail.body).toBe(body);
  });

  it('Thunderbird: raw UTF-8 bytes inside =?ISO-8859-1?Q? encoded words', async () => {
    const from = address('tb');
    const word = Buffer.concat([Buffer.from('=?ISO-8859-1?Q?'), Buffer.from('Réunion_annulée_à_Zürich', 'utf8'), Buffer.from('?=')]);
    const { mail, ticket } = await deliver(
      from,
      raw([`From: ${from}`, header('Subject', word), ...common(from, 'tb'), 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit'], 'The meeting is cancelled.\r\n'),
    );
    expect(mail.subject).toBe('Réunion annulée à Zürich');
    expect(ticket.title).toBe('Réunion annulée à Zürich');
  });

  it('a properly encoded UTF-8 subject whose character is split over two encoded words (Apple Mail)', async () => {
    const from = address('split');
    // "Grüße" in UTF-8 is 47 72 C3 BC C3 9F 65: the ü's two bytes go into two words.
    const { mail } = await deliver(
      from,
      raw([`From: ${from}`, 'Subject: =?UTF-8?Q?Gr=C3?=\r\n =?UTF-8?Q?=BC=C3=9Fe_aus_Berlin?=', ...common(from, 'split'), 'Content-Type: text/plain; charset=UTF-8'], 'Hallo\r\n'),
    );
    expect(mail.subject).toBe('Grüße aus Berlin');
  });

  it('UTF-7 from an old Exchange: =?utf-7?Q? subject and a charset=utf-7 body', async () => {
    const from = address('utf7');
    const subject = 'Besprechung ändern: Größe der Datei';
    const body = 'Hallo,\n\ndie Datei für die Prüfung ist zu groß (über 20 MB).\n\nGrüße\nJürgen';
    const word = `=?utf-7?Q?${iconv.encode(subject, 'utf7').toString('latin1').replace(/ /g, '_')}?=`;
    const { mail, ticket } = await deliver(
      from,
      raw([`From: ${from}`, `Subject: ${word}`, ...common(from, 'utf7'), 'X-Mailer: Microsoft Exchange Server 5.5', 'Content-Type: text/plain; charset="utf-7"', 'Content-Transfer-Encoding: 7bit'], iconv.encode(crlf(body), 'utf7')),
    );
    expect(word).toMatch(/^=\?utf-7\?Q\?[\x20-\x7e]+\?=$/);
    expect(mail).toMatchObject({ subject, body });
    expect(ticket).toMatchObject({ title: subject, description: body });
  });

  it('mislabelled: declared us-ascii, the body is windows-1252 (smart quotes, euro sign from Outlook)', async () => {
    const from = address('cp1252');
    const body = 'Hello,\n\nthe invoice says “€ 120” but I paid €100 – could you check? It’s urgent.\n\nMarie';
    const { mail } = await deliver(
      from,
      raw([`From: ${from}`, 'Subject: Invoice', ...common(from, 'cp1252'), 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 8bit'], iconv.encode(crlf(body), 'windows-1252')),
    );
    expect(mail.body).toBe(body);
  });

  it('mislabelled: declared UTF-8 (subject word and body), the bytes are Latin-1 (a webmail form)', async () => {
    const from = address('mislabel');
    const subject = 'Grüße aus München - Rückfrage zur Bestellung';
    const body = 'Sehr geehrte Damen und Herren,\n\nich möchte meine Bestellung ändern. Die Größe passt nicht.\n\nMit freundlichen Grüßen\nJörg Müller';
    const qp = [...Buffer.from(subject, 'latin1')].map((b) => (b === 0x20 ? '_' : b >= 0x80 || b === 0x2d ? `=${b.toString(16).toUpperCase()}` : String.fromCharCode(b))).join('');
    const { mail, ticket } = await deliver(
      from,
      raw([`From: ${from}`, `Subject: =?UTF-8?Q?${qp}?=`, ...common(from, 'mislabel'), 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit'], Buffer.from(crlf(body), 'latin1')),
    );
    expect(mail).toMatchObject({ subject, body });
    expect(ticket).toMatchObject({ title: subject, description: body });
  });

  it('valid UTF-8 stays UTF-8, and a correct ISO-8859-1 quoted-printable body stays right', async () => {
    const from = address('ok');
    const { mail } = await deliver(
      from,
      raw(
        [`From: ${from}`, 'Subject: =?UTF-8?B?' + Buffer.from('Überweisung – 50 €').toString('base64') + '?=', ...common(from, 'ok'), 'Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable'],
        'Die =DCberweisung ist angekommen, danke sch=F6n.\r\n',
      ),
    );
    expect(mail).toMatchObject({ subject: 'Überweisung – 50 €', body: 'Die Überweisung ist angekommen, danke schön.' });
  });
});

describe('HTML-only mail', () => {
  it('HTML-only newsletter-style mail from Gmail with &nbsp; &eacute; and links', async () => {
    const from = address('gmail');
    const html = [
      '<html><head><meta charset="UTF-8"><title>Ignored title</title>',
      '<style>p { color: red; } .x::after { content: "css text" }</style>',
      '<script>document.write("script text")</script></head>',
      '<body><div dir="ltr"><h1>Caf&eacute; order #42</h1>',
      '<p>Hello&nbsp;team, the caf&eacute; &amp; bakery order was &quot;lost&quot; &ndash; total&nbsp;&euro;12&#44;50 &#x263A;</p>',
      '<p>Track it <a href="https://shop.example.com/orders/42?a=1&amp;b=2">here</a> or see <a href="https://shop.example.com/">https://shop.example.com/</a>.</p>',
      '<table><tr><td>Item</td><td>Croissant</td></tr></table>',
      '<img src="https://tracker.example.com/pixel.gif" alt="">',
      '</div></body></html>',
    ].join('\r\n');
    const { mail, ticket } = await deliver(
      from,
      raw([`From: "Gmail User" <${from}>`, 'Subject: Order lost', ...common(from, 'gmail'), 'Content-Type: text/html; charset="UTF-8"', 'Content-Transfer-Encoding: 8bit'], html),
    );
    const expected = [
      'Café order #42',
      '',
      'Hello\u00a0team, the café & bakery order was "lost" – total\u00a0€12,50 ☺',
      '',
      'Track it here [https://shop.example.com/orders/42?a=1&b=2] or see https://shop.example.com/.',
      '',
      'Item',
      'Croissant',
    ].join('\n');
    expect(mail.body).toBe(expected);
    expect(ticket.description).toBe(expected);
    for (const left of ['<', 'css text', 'script text', 'color', 'Ignored title', 'pixel.gif', '&']) {
      if (left === '&') expect(mail.body).not.toMatch(/&[a-z#0-9]+;/i);
      else expect(mail.body).not.toContain(left);
    }
  });
});
