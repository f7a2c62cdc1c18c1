// Files in real-world mail, written here byte by byte as the clients send them and delivered over
// real SMTP to the listener: every file kept with its exact bytes and its name decoded, inline
// images marked, forwarded messages opened, mail past the limits refused with 552 and nothing kept.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import type { Express } from 'express';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { sendRaw, startTestInbound } from '../helpers/inbound.js';
import { PNG, sha } from '../helpers/files.js';

const SUPPORT = 'support@caseboard.test';
let db: TestDatabase;
let smtp: InboundSmtp;
let app: Express;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db, { INBOUND_MAX_BYTES: 4 * 1024 * 1024 });
  app = testApp(db);
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const address = (who: string) => `${who}-${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}@customer.test`;
const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n', 'latin1'), randomBytes(2000), Buffer.from('\n%%EOF\n')]);
const lines = (...l: (string | Buffer)[]) => Buffer.concat(l.map((x) => Buffer.concat([Buffer.from(x), Buffer.from('\r\n')])));
const head = (from: string, subject: string, type: string) => [
  `From: Carla Customer <${from}>`, `To: ${SUPPORT}`, `Subject: ${subject}`, `Message-ID: <${randomBytes(6).toString('hex')}@mua.test>`,
  'Date: Mon, 7 Apr 2025 09:12:44 +0200', 'MIME-Version: 1.0', `Content-Type: ${type}`, '',
];

async function deliver(from: string, message: Buffer) {
  await sendRaw(smtp, { from, to: [SUPPORT] }, message);
  const mail = await db.prisma.inboundMail.findFirstOrThrow({ where: { fromAddress: from } });
  const files = await db.prisma.attachment.findMany({ where: { inboundMailId: mail.id }, orderBy: { id: 'asc' }, include: { content: true } });
  return { mail, files: files.map((f) => ({ ...f, bytes: Buffer.from(f.content!.bytes) })) };
}

describe('files in real-world mail', () => {
  it('Outlook (HTML with a cid: image in multipart/related, a PDF with an RFC 2231 UTF-8 name)', async () => {
    const from = address('outlook');
    const name = 'Größe – 報告.pdf';
    const msg = lines(
      ...head(from, 'Printer error', 'multipart/mixed; boundary="mix"'),
      '--mix', 'Content-Type: multipart/related; boundary="rel"; type="text/html"', '',
      '--rel', 'Content-Type: text/html; charset="utf-8"', 'Content-Transfer-Encoding: quoted-printable', '',
      '<html><body><p>The printer shows this:</p><img src=3D"cid:image001.png@01DB1234.5678ABCD"></body></html>',
      '--rel', 'Content-Type: image/png; name="image001.png"', 'Content-Description: image001.png', 'Content-Disposition: inline; filename="image001.png"',
      'Content-ID: <image001.png@01DB1234.5678ABCD>', 'Content-Transfer-Encoding: base64', '', b64(PNG), '--rel--',
      '--mix', 'Content-Type: application/pdf', `Content-Disposition: attachment; filename*=UTF-8''${encodeURIComponent(name)}`, 'Content-Transfer-Encoding: base64', '', b64(PDF), '--mix--',
    );
    const { mail, files } = await deliver(from, msg);
    expect(mail.state).toBe('NEW_TICKET');
    expect(files.map((f) => [f.fileName, f.mediaType, f.inline, f.contentId, sha(f.bytes), f.ticketId])).toEqual([
      ['image001.png', 'image/png', true, 'image001.png@01DB1234.5678ABCD', sha(PNG), mail.ticketId],
      [name, 'application/pdf', false, null, sha(PDF), mail.ticketId],
    ]);
    // The image stays where the HTML had it: a [cid:…] mark in the text, the stored image on the page.
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
    expect(ticket.description).toBe('The printer shows this:\n\n[cid:image001.png@01DB1234.5678ABCD]');
    const tech = await buildUser(db, { name: 'Ines Inline' });
    const { agent } = await signIn(app, tech.email);
    const page = await agent.get(`/tickets/${ticket.reference}`).expect(200);
    const href = `/tickets/${ticket.reference}/files/${files[0]!.id}/image001.png`;
    expect(page.text).toContain(`The printer shows this:\n\n<a class="inline-image" href="${href}"><img src="${href}" alt="image001.png"`);
    const image = await agent.get(href).expect(200);
    expect(image.headers['content-type']).toBe('image/png');
  });

  it("Outlook's plain-text part marks the image [cid:…]; a mark naming no image of the message stays text", async () => {
    const from = address('outlook-text');
    const msg = lines(
      ...head(from, 'Screen frozen', 'multipart/related; boundary="rel"'),
      '--rel', 'Content-Type: text/plain; charset="utf-8"', '', 'Frozen here:', '[cid:image002.png@01DB0000.11112222]', 'and [cid:nothing@else] too.',
      '--rel', 'Content-Type: image/png; name="image002.png"', 'Content-ID: <image002.png@01DB0000.11112222>', 'Content-Transfer-Encoding: base64', '', b64(PNG), '--rel--',
    );
    const { mail, files } = await deliver(from, msg);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
    const tech = await buildUser(db, { name: 'Olga Outlook' });
    const { agent } = await signIn(app, tech.email);
    const page = await agent.get(`/tickets/${ticket.reference}`).expect(200);
    const href = `/tickets/${ticket.reference}/files/${files[0]!.id}/image002.png`;
    expect(page.text).toContain(`Frozen here:\n<a class="inline-image" href="${href}">`);
    expect(page.text).toContain('and [cid:nothing@else] too.');
  });

  it('Apple Mail (an inline image between two text parts), Thunderbird (an RFC 2047 name), quoted-printable text file', async () => {
    const from = address('apple');
    const log = 'Zeile 1: Fehler beim Start\nZeile 2: Größe überschritten\n';
    const msg = lines(
      ...head(from, 'Two screenshots', 'multipart/mixed; boundary="Apple-Mail=_1"'),
      '--Apple-Mail=_1', 'Content-Type: text/plain; charset=us-ascii', '', 'First this:', '',
      '--Apple-Mail=_1', 'Content-Disposition: inline; filename=shot1.png', 'Content-Type: image/png; x-unix-mode=0644; name="shot1.png"', 'Content-Transfer-Encoding: base64', '', b64(PNG), '',
      '--Apple-Mail=_1', 'Content-Type: text/plain; charset=us-ascii', '', 'and then the log.', '',
      '--Apple-Mail=_1', `Content-Type: text/plain; charset=ISO-8859-1; name="=?ISO-8859-1?Q?Protokoll_f=FCr_M=E4rz.log?="`, `Content-Disposition: attachment; filename="=?ISO-8859-1?Q?Protokoll_f=FCr_M=E4rz.log?="`,
      'Content-Transfer-Encoding: quoted-printable', '', iconv.encode(log, 'latin1').toString('latin1').replace(/[\u0080-\u00ff]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase()}`), '',
      '--Apple-Mail=_1--',
    );
    const { mail, files } = await deliver(from, msg);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
    expect(ticket.description).toContain('First this:');
    expect(ticket.description).toContain('and then the log.');
    expect(files.map((f) => [f.fileName, f.inline, f.mediaType])).toEqual([
      ['shot1.png', true, 'image/png'],
      ['Protokoll für März.log', false, 'text/plain'],
    ]);
    expect(sha(files[0]!.bytes)).toBe(sha(PNG));
    // The bytes as sent (Latin-1, MIME's CRLF line ends, the part's last line end), not re-encoded.
    expect(files[1]!.bytes.equals(iconv.encode(`${log.replace(/\n/g, '\r\n')}\r\n`, 'latin1'))).toBe(true);
  });

  it('a forwarded message (message/rfc822, Latin-1, with its own PDF) forwarded again: texts shown, every file kept', async () => {
    const from = address('fwd');
    const inner = lines(
      'From: Billing <billing@vendor.test>', 'To: carla@customer.test', 'Subject: Rechnung 4711', 'Date: Tue, 1 Dec 2026 10:00:00 +0000',
      'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="in"', '',
      '--in', 'Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'Ihre Zahlung f=FCr M=E4rz ist fehlgeschlagen.',
      '--in', 'Content-Type: application/pdf; name="rechnung.pdf"', 'Content-Disposition: attachment; filename="rechnung.pdf"', 'Content-Transfer-Encoding: base64', '', b64(PDF), '--in--',
    );
    const middle = lines(
      'From: Boss <boss@customer.test>', 'To: carla@customer.test', 'Subject: Fwd: Rechnung 4711', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="mid"', '',
      '--mid', 'Content-Type: text/plain; charset=utf-8', '', 'Can you ask support?', '--mid', 'Content-Type: message/rfc822', '', inner, '--mid--',
    );
    const msg = lines(
      ...head(from, 'Fwd: Fwd: Rechnung 4711', 'multipart/mixed; boundary="out"'),
      '--out', 'Content-Type: text/plain; charset=utf-8', '', 'Please look at the mails below.',
      '--out', 'Content-Type: message/rfc822; name="Fwd Rechnung.eml"', 'Content-Disposition: attachment; filename="Fwd Rechnung.eml"', '', middle, '--out--',
    );
    const { mail, files } = await deliver(from, msg);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail.ticketId! } });
    expect(ticket.description).toContain('Please look at the mails below.');
    expect(ticket.description).toContain('Subject: Fwd: Rechnung 4711');
    expect(ticket.description).toContain('Can you ask support?');
    expect(ticket.description).toContain('Ihre Zahlung für März ist fehlgeschlagen.');
    expect(files.map((f) => [f.fileName, f.mediaType])).toEqual([
      ['Fwd Rechnung.eml', 'message/rfc822'],
      ['forwarded message.eml', 'message/rfc822'],
      ['rechnung.pdf', 'application/pdf'],
    ]);
    expect(sha(files[2]!.bytes)).toBe(sha(PDF));
    expect(mail.originalText).toContain('Please look at the mails below.');
    // Redacting the PDF: the page says the forwarded messages on the entry hold it too.
    const admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
    const { agent } = await signIn(app, admin.email);
    const page = await agent.get(`/tickets/${ticket.reference}/redact-file/${files[2]!.id}`).expect(200);
    expect(page.text).toContain('This entry also holds a forwarded message');
    expect(page.text).toContain(`/tickets/${ticket.reference}/redact-file/${files[0]!.id}">Fwd Rechnung.eml</a>`);
  });

  it('a file past the per-file limit: 552, nothing recorded', async () => {
    const from = address('huge');
    const big = randomBytes(21 * 1024 * 1024 > 4 * 1024 * 1024 ? 2 * 1024 * 1024 : 0);
    // The listener of this file allows 4 MB messages; the default per-file limit is 20 MB, so use a
    // listener whose limits are small.
    const { configureAttachmentLimits, DEFAULT_LIMITS } = await import('../../src/services/attachments/limits.js');
    configureAttachmentLimits({ ...DEFAULT_LIMITS, maxFileBytes: 1024 * 1024 });
    try {
      const before = await countRows(db);
      const msg = lines(
        ...head(from, 'Big', 'multipart/mixed; boundary="b"'),
        '--b', 'Content-Type: text/plain', '', 'A big dump.', '--b', 'Content-Type: application/octet-stream; name="core.dmp"', 'Content-Transfer-Encoding: base64', '', b64(big), '--b--',
      );
      const err = await sendRaw(smtp, { from, to: [SUPPORT] }, msg).then(() => null, (e: { responseCode?: number; response?: string }) => e);
      expect(err?.responseCode).toBe(552);
      expect(err?.response).toContain('core.dmp is too big');
      expect(await countRows(db)).toEqual(before);
    } finally {
      configureAttachmentLimits(DEFAULT_LIMITS);
    }
  });
});
