// Email out, end to end: changes queue mails in their own transaction; the worker (pg-boss)
// sends them through a real SMTP server started here, with signed, threaded Message-IDs and a
// private access link; retries, crashes and two instances neither lose nor double a mail.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, testApp } from '../helpers/http.js';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { loadConfig } from '../../src/config/env.js';
import { createMailer, type Mailer } from '../../src/mail/mailer.js';
import { queueTicketMail } from '../../src/services/mail/outbox.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { incomingFile } from '../../src/services/attachments/files.js';
import { redactAttachment } from '../../src/services/attachments/redact.js';
import { sendQueuedMail } from '../../src/mail/send-mail.js';
import { createMailTransport } from '../../src/mail/transport.js';
import type { Actor } from '../../src/services/context.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234567890';

/** A real SMTP server that keeps what it receives (and its raw bytes); `failNext` refuses that many deliveries first. */
async function startSmtp() {
  const received: ParsedMail[] = [];
  const raw = new Map<ParsedMail, Buffer>();
  const state = { failNext: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(_addr, _session, cb) {
      if (state.failNext > 0) {
        state.failNext--;
        const err = Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 });
        return cb(err);
      }
      cb();
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        simpleParser(bytes).then((m) => { raw.set(m, bytes); received.push(m); cb(); }, cb);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { received, raw, state, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let db: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let tech: Actor;
const running: Mailer[] = [];

function mailer(on: Database = db, env: Record<string, string> = {}): Mailer {
  const config = loadConfig({
    NODE_ENV: 'test', SMTP_URL: smtp.url, MAIL_FROM: 'Help Desk <help@caseboard.test>', MAIL_POLL_MS: '100',
    PUBLIC_URL: 'https://help.example.test/', ...env,
  });
  const m = createMailer(on, config, SECRET);
  running.push(m);
  return m;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mailsTo = (address: string) => smtp.received.filter((m) => m.to && JSON.stringify(m.to).includes(address));
/**
 * The ticket's mail once marked sent: the test server keeps a mail before it answers 250, and the
 * sender marks it sent only after that answer.
 */
const markedSent = (ticketId: number, ms?: number) =>
  until('the mail marked sent', async () => (await db.prisma.outboundMail.findFirst({ where: { ticketId, state: 'SENT' } })) ?? undefined, ms);

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startSmtp();
  tech = await buildUser(db, { name: 'Tess Tech' });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});
afterAll(async () => {
  await smtp.close();
  await db.close();
});

describe('the outbox', () => {
  it('sends what a change queued: reference in the subject, signed threaded ids, a working access link', async () => {
    const t = await buildTicket(db, tech, { title: 'Badge reader rejects cards', customer: { name: 'Ada', email: 'ada@customer.test' } });
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Could you try the card on another door?' });
    await addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'internal only' });
    const m = mailer();
    await m.startWorker();
    const got = await until('two mails', () => (mailsTo('ada@customer.test').length >= 2 ? mailsTo('ada@customer.test') : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(mailsTo('ada@customer.test')).toHaveLength(2); // the note sent nothing
    const first = got.find((g) => g.subject!.includes('Your request was received'))!;
    const second = got.find((g) => g.subject!.includes('Re:'))!;
    expect(first.subject).toBe(`[${t.reference}] Your request was received: Badge reader rejects cards`);
    expect(second.subject).toBe(`[${t.reference}] Re: Badge reader rejects cards`);
    expect(second.text).toContain('Could you try the card on another door?');
    expect(second.text).not.toContain('internal only');
    expect(first.headers.get('auto-submitted')).toBe('auto-generated');
    expect(second.headers.get('auto-submitted')).toBeUndefined();
    // Threading: both refer to the ticket's root id; each id is signed and names the ticket.
    const root = m.ids.threadRoot(t.id);
    for (const mail of [first, second]) {
      expect(mail.inReplyTo).toBe(root);
      expect(m.ids.ticketIdsIn(mail.messageId)).toEqual([t.id]);
      expect(mail.html).toContain(t.reference);
    }
    const rows = await db.prisma.outboundMail.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.kind, r.state, r.attempts])).toEqual([['TICKET_CREATED', 'SENT', 1], ['REPLY', 'SENT', 1]]);
    // The link opens the customer's status page; only its hash is stored.
    const link = /https:\/\/help\.example\.test\/s\/([A-Za-z0-9_-]{43})/.exec(first.text ?? '');
    expect(link).not.toBeNull();
    const stored = await db.prisma.ticketAccessToken.findMany({ where: { ticketId: t.id } });
    expect(stored).toHaveLength(2); // renewed in each mail
    const hash = createHash('sha256').update(link![1]!).digest('hex');
    expect(stored.map((s) => s.tokenHash)).toContain(hash);
    expect(stored.map((s) => s.tokenHash)).not.toContain(link![1]);
    // Opening it asks for a click first (link scanners only GET); then it shows the ticket.
    const page = await confirmLink(request.agent(testApp(db)), link![1]!);
    expect(page.text).toContain('Badge reader rejects cards');
    expect(page.text).toContain('Could you try the card on another door?');
  });

  it('mails waiting-on-customer and the resolution with its reason', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Bo', email: 'bo@customer.test' }, notifyCustomer: false });
    const s1 = await changeStatus(as(db, tech), { reference: t.reference, version: t.version }, 'IN_PROGRESS');
    const s2 = await changeStatus(as(db, tech), { reference: t.reference, version: s1.version }, 'WAITING_ON_CUSTOMER');
    await resolveTicket(as(db, tech), { reference: t.reference, version: s2.version }, { code: 'KNOWN_ISSUE', note: 'Fixed in the 5.2 update.' });
    await mailer().startWorker();
    const got = await until('two mails', () => (mailsTo('bo@customer.test').length >= 2 ? mailsTo('bo@customer.test') : undefined));
    const subjects = got.map((g) => g.subject).sort();
    expect(subjects).toEqual([`[${t.reference}] Resolved: ${t.title}`, `[${t.reference}] We need your answer: ${t.title}`]);
    const resolved = got.find((g) => g.subject!.includes('Resolved'))!;
    expect(resolved.text).toContain('Known issue');
    expect(resolved.text).toContain('Fixed in the 5.2 update.');
  });

  it('a rolled-back change queues and sends nothing', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Cy', email: 'cy@customer.test' }, notifyCustomer: false });
    const before = await countRows(db);
    const jobs = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job`)).rows[0].n as number;
    const jobsBefore = await jobs();
    await expect(
      db.prisma.$transaction(async (tx) => {
        await queueTicketMail(tx, t, 'REPLY', { body: 'never sent', author: 'x' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await countRows(db)).toEqual(before);
    expect(await jobs()).toBe(jobsBefore);
    await mailer().startWorker();
    await new Promise((r) => setTimeout(r, 600));
    expect(mailsTo('cy@customer.test')).toHaveLength(0);
  });

  it('a crash between commit and send loses nothing: the next process sends it, once', async () => {
    // The "crashed" process: commits a ticket (and its mail) and dies before any worker ran.
    const doomed = connectDatabase(db.url, 2, { namedStatements: db.namedStatements });
    const t = await buildTicket(doomed, tech, { customer: { name: 'Di', email: 'di@customer.test' } });
    await doomed.close();
    expect(mailsTo('di@customer.test')).toHaveLength(0);
    // A new process starts its worker.
    await mailer().startWorker();
    await until('the mail', () => (mailsTo('di@customer.test').length ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo('di@customer.test')).toHaveLength(1);
    expect((await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id } })).state).toBe('SENT');
  });

  it('retries a refused delivery with backoff, then sends it once', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Ed', email: 'ed@customer.test' } });
    smtp.state.failNext = 1;
    await mailer().startWorker();
    const failed = await until('a failed attempt', async () => {
      const row = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id } });
      return row.attempts >= 1 ? row : undefined;
    });
    expect(failed.state).toBe('QUEUED');
    expect(failed.lastError).toContain('Mailbox busy');
    // pg-boss retries after the queue's retry delay (2 s, doubling).
    await until('the retry', () => (mailsTo('ed@customer.test').length ? true : undefined), 20_000);
    const sent = await markedSent(t.id);
    expect(sent).toMatchObject({ state: 'SENT', attempts: 2, lastError: null });
    expect(mailsTo('ed@customer.test')).toHaveLength(1);
  }, 40_000);

  it('two instances sending at once never send a mail twice', async () => {
    const tickets = [];
    for (let i = 0; i < 20; i++) {
      tickets.push(await buildTicket(db, tech, { customer: { name: `Fay ${i}`, email: `fay${i}@many.test` } }));
    }
    const other = connectDatabase(db.url, 4, { namedStatements: db.namedStatements });
    try {
      await Promise.all([mailer(db, { MAIL_WORKER_CONCURRENCY: '4' }).startWorker(), mailer(other, { MAIL_WORKER_CONCURRENCY: '4' }).startWorker()]);
      await until('20 mails', () => (mailsTo('@many.test').length >= 20 ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 800));
      const ids = mailsTo('@many.test').map((m) => m.messageId);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    } finally {
      await Promise.all(running.splice(0).map((m) => m.stop()));
      await other.close();
    }
  }, 60_000);
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/**
 * What a received mail carries: name, type (as sent: mailparser guesses one from the name of an
 * octet-stream), disposition and SHA-256 of each attachment.
 */
const carried = (mail: ParsedMail) =>
  mail.attachments.map((a) => [a.filename, (a.headers.get('content-type') as { value: string }).value, a.contentDisposition, sha(a.content)]);

// A 1×1 PNG, then 300 KB of noise: still a PNG by its signature, and big enough to be staged (store.ts).
const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex'),
  randomBytes(300 * 1024),
]);
// A log in Latin-1 with both line ends and a trailing space: any re-encoding of text would change its bytes.
const LOG = Buffer.from('2026-12-05 10:00 Größe überschritten \n2026-12-05 10:01 retry\r\n', 'latin1');
// A forwarded message with a line past SMTP's 998 characters: it can only travel encoded.
const EML = Buffer.from(`From: vendor@example.test\r\nTo: it@example.test\r\nSubject: Firmware\r\nMessage-ID: <fw@example.test>\r\n\r\nCafé ${'z'.repeat(1200)}\r\n`, 'latin1');

describe('the files of a staff reply', () => {
  it('reach the customer as attachments: the names (non-ASCII too), types and exact bytes attached, listed in the text', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Gus', email: 'gus@files.test' }, notifyCustomer: false });
    const entry = await addWorkLog(as(db, tech), t.reference, {
      kind: 'REPLY',
      body: 'Here is what we found.',
      files: [incomingFile('Größe – 報告.log', LOG), incomingFile('screen <1>.png', PNG), incomingFile('forwarded.eml', EML)],
    });
    expect(entry.attachments.map((a) => [a.fileName, a.mediaType])).toEqual([
      ['Größe – 報告.log', 'text/plain'],
      ['screen _1_.png', 'image/png'],
      ['forwarded.eml', 'message/rfc822'],
    ]);
    await mailer().startWorker();
    const [mail] = await until('the reply', () => (mailsTo('gus@files.test').length ? mailsTo('gus@files.test') : undefined));
    expect(carried(mail!)).toEqual([
      ['Größe – 報告.log', 'text/plain', 'attachment', sha(LOG)],
      ['screen _1_.png', 'image/png', 'attachment', sha(PNG)],
      // message/* may not be base64-encoded (RFC 2046) and this one cannot go as it is: a plain file.
      ['forwarded.eml', 'application/octet-stream', 'attachment', sha(EML)],
    ]);
    // The non-ASCII name went encoded (RFC 2231 and, for old clients, RFC 2047), the message all ASCII.
    const raw = smtp.raw.get(mail!)!.toString('latin1');
    expect(raw).toContain("filename*0*=utf-8''Gr%C3%B6%C3%9Fe%20%E2%80%93%20%E5%A0%B1");
    expect(raw).toContain('name="=?UTF-8?Q?Gr=C3=B6=C3=9Fe_=E2=80=93_=E5=A0=B1?=');
    expect(/[^\x00-\x7f]/.test(raw)).toBe(false);
    expect(mail!.text).toContain('Here is what we found.');
    expect(mail!.text).toContain('Attached: Größe – 報告.log, screen _1_.png, forwarded.eml');
    expect(mail!.html).toContain('Attached: Größe – 報告.log, screen _1_.png, forwarded.eml');
    expect(mail!.text).not.toContain('withdrawn');
  });

  it('a file redacted before the mail is sent is left out, and the mail says it was withdrawn', async () => {
    const admin = await buildUser(db, { role: 'ADMIN' });
    const t = await buildTicket(db, tech, { customer: { name: 'Hal', email: 'hal@files.test' }, notifyCustomer: false });
    const entry = await addWorkLog(as(db, tech), t.reference, {
      kind: 'REPLY',
      body: 'The config and the log.',
      files: [incomingFile("Tom's password & config.txt", Buffer.from('password=hunter2\n')), incomingFile('logs & traces.log', LOG)],
    });
    const redacted = await redactAttachment(as(db, admin), t.reference, entry.attachments[0]!.id);
    expect(redacted).toEqual({ redacted: 1, bytesDeleted: true });
    await mailer().startWorker();
    const [mail] = await until('the reply', () => (mailsTo('hal@files.test').length ? mailsTo('hal@files.test') : undefined));
    expect(carried(mail!)).toEqual([['logs & traces.log', 'text/plain', 'attachment', sha(LOG)]]);
    expect(mail!.text).toContain('Attached: logs & traces.log');
    expect(mail!.text).toContain("Tom's password & config.txt was withdrawn by our support team and is not attached.");
    // The names in the HTML part are escaped.
    expect(mail!.html).toContain('Attached: logs &amp; traces.log');
    expect(mail!.html).toContain('Tom&#39;s password &amp; config.txt was withdrawn by our support team and is not attached.');
    expect(mail!.text).not.toContain('hunter2');
    expect(await markedSent(t.id)).toMatchObject({ attempts: 1, lastError: null });
  });

  it('a reply without files carries none and lists none', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Ida', email: 'ida@files.test' }, notifyCustomer: false });
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'No files this time.' });
    await mailer().startWorker();
    const [mail] = await until('the reply', () => (mailsTo('ida@files.test').length ? mailsTo('ida@files.test') : undefined));
    expect(mail!.attachments).toEqual([]);
    expect(mail!.text).toContain('No files this time.');
    expect(mail!.text).not.toContain('Attached:');
    expect(mail!.text).not.toContain('withdrawn');
  });

  it('the .eml-file transport carries them too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caseboard-mail-'));
    try {
      const t = await buildTicket(db, tech, { customer: { name: 'Jo', email: 'jo@files.test' }, notifyCustomer: false });
      await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Attached.', files: [incomingFile('Größe – 報告.log', LOG), incomingFile('shot.png', PNG)] });
      const queued = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id } });
      const files = createMailTransport({ mailDir: dir });
      await expect(sendQueuedMail({ ...mailer().sender, transport: files }, queued.id)).resolves.toBe('sent');
      files.close();
      const [name] = await readdir(dir);
      const mail = await simpleParser(await readFile(join(dir, name!)));
      expect(carried(mail)).toEqual([
        ['Größe – 報告.log', 'text/plain', 'attachment', sha(LOG)],
        ['shot.png', 'image/png', 'attachment', sha(PNG)],
      ]);
      expect(mail.text).toContain('Attached: Größe – 報告.log, shot.png');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
