// Files on the customer-facing side, through real HTTP as a customer's browser sends them: a
// screenshot with a web request, a log with a reply through the private link, the link's page
// listing the files of public entries (never a note's), downloads through the link (only the
// ticket's own public files, only once a person confirmed a link, never cached), and every
// refusal — limits, empty files, a cut-off upload, a missing CSRF token — writing nothing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import type { Ticket } from '../../src/generated/prisma/client.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { incomingFile } from '../../src/services/attachments/files.js';
import { redactAttachment } from '../../src/services/attachments/redact.js';
import { issueAccessToken, revokeAccessLinks } from '../../src/services/public/access-links.js';
import { setUserActive } from '../../src/services/users/manage-users.js';
import { PNG, sha, SMALL_LIMITS } from '../helpers/files.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;


beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, SMALL_LIMITS);
  tech = await buildUser(db, { name: 'Tia Tech' });
  admin = await buildUser(db, { name: 'Ada Admin', role: 'ADMIN' });
});
afterAll(() => db?.close());

type Upload = [name: string, bytes: Buffer, type?: string];
type Agent = ReturnType<typeof request.agent>;

/** Everything an upload could leave behind: rows of every table, the stored bytes, staged uploads. */
async function stored() {
  const { rows } = await db.pool.query<{ bytes: string; uploads: number }>(
    `SELECT (SELECT coalesce(sum(octet_length(bytes)), 0)::text FROM "FileContent") AS bytes,
            (SELECT count(*)::int FROM "FileUpload") AS uploads`,
  );
  return { rows: await countRows(db), contentBytes: rows[0]!.bytes, uploads: rows[0]!.uploads };
}

/** Sends a request that must write nothing at all (no row, no byte, no staged upload). */
async function expectNothingWritten<T>(send: () => PromiseLike<T>): Promise<T> {
  const before = await stored();
  const res = await send();
  expect(await stored()).toEqual(before);
  return res;
}

/** An anonymous browser with the CSRF token of a page. */
async function visitor(page = '/request') {
  const agent = request.agent(app);
  const res = await agent.get(page).expect(200);
  return { agent, csrf: csrfOf(res.text), page: res };
}

/** A multipart POST as a browser sends a form with enctype="multipart/form-data". */
function multipart(agent: Agent, url: string, fields: Record<string, string>, files: Upload[]) {
  let req = agent.post(url);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  for (const [name, bytes, type] of files) req = req.attach('files', bytes, { filename: name, contentType: type ?? 'application/octet-stream' });
  return req;
}

const REQUEST_FIELDS = (email: string) => ({
  name: 'Wanda Web',
  email,
  title: 'Invoice screen goes black',
  description: 'KEPT-DESCRIPTION: after pressing Print the screen goes black.',
});

/** A customer holding a confirmed private link to the ticket (they pressed the button). */
async function customerOf(ticketId: number) {
  const token = await issueAccessToken(db.pool, ticketId, null, 30);
  const agent = request.agent(app);
  const page = await confirmLink(agent, token);
  return { agent, token, csrf: csrfOf(page.text) };
}

const fileUrl = (token: string, id: number, name = 'f') => `/s/${token}/files/${id}/${encodeURIComponent(name)}`;

/** A GET whose body is read as bytes, whatever its type. */
const bytesOf = (req: request.Test) =>
  req.buffer(true).parse((r, cb) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => cb(null, Buffer.concat(chunks)));
  });

describe('the web request form takes files', () => {
  it('a screenshot goes onto the new ticket’s report with its exact bytes, added by the customer; staff and the customer see it', async () => {
    const { agent, csrf, page } = await visitor();
    // The form can send files: multipart, a labelled picker with the limits.
    expect(page.text).toMatch(/<form method="post" action="\/request"[^>]*enctype="multipart\/form-data"/);
    expect(page.text).toMatch(/<label for="files">Attach files/);
    expect(page.text).toContain('Up to 3 files, 64 KB each, 96 KB together.');
    expect(page.text).toContain('/public/js/files.js');

    const email = `wanda-${Date.now()}@customer.test`;
    const before = await countRows(db);
    const res = await multipart(agent, '/request', { _csrf: csrf, ...REQUEST_FIELDS(email), website: '' }, [['black screen.png', PNG, 'image/png']]);
    expect(res.status).toBe(201);
    const reference = /CB-[0-9A-Z]{7}/.exec(res.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    const files = await db.prisma.attachment.findMany({ where: { ticketId: ticket.id } });
    expect(files.map((f) => [f.fileName, f.mediaType, f.size, f.sha256, f.workLogEntryId, f.addedById, f.addedByCustomerId])).toEqual([
      ['black screen.png', 'image/png', PNG.length, sha(PNG), null, null, ticket.customerId],
    ]);
    const content = await db.prisma.fileContent.findUniqueOrThrow({ where: { sha256: sha(PNG) } });
    expect(Buffer.from(content.bytes).equals(PNG)).toBe(true);
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: ticket.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.action, h.newValue, h.actorId, h.actorCustomerId])).toEqual([
      ['CREATED', expect.any(String), null, ticket.customerId],
      ['ATTACHMENT_ADDED', 'black screen.png', null, ticket.customerId],
    ]);
    const after = await countRows(db);
    expect([after.Ticket! - before.Ticket!, after.Attachment! - before.Attachment!]).toEqual([1, 1]);

    // Staff: the ticket page lists it, the staff route serves the same bytes.
    const staff = await signIn(app, tech.email);
    const staffPage = await staff.agent.get(`/tickets/${reference}`).expect(200);
    expect(staffPage.text).toContain('black screen.png');
    expect(staffPage.text).toContain(`/tickets/${reference}/files/${files[0]!.id}/black%20screen.png`);
    const viaStaff = await bytesOf(staff.agent.get(`/tickets/${reference}/files/${files[0]!.id}`)).expect(200);
    expect((viaStaff.body as Buffer).equals(PNG)).toBe(true);

    // The customer, through the link in the mail: listed (a thumbnail), and the same bytes.
    const customer = await customerOf(ticket.id);
    const link = await customer.agent.get(`/s/${customer.token}`).expect(200);
    const href = fileUrl(customer.token, files[0]!.id, 'black screen.png');
    expect(link.text).toContain('black screen.png');
    expect(link.text).toContain(`<img src="${href}"`);
    const got = await bytesOf(customer.agent.get(href)).expect(200);
    expect((got.body as Buffer).equals(PNG)).toBe(true);
    expect(got.headers['content-type']).toBe('image/png');
    expect(got.headers['cache-control']).toBe('no-store');
    expect(got.headers['x-content-type-options']).toBe('nosniff');
  });

  it('past a limit, or with an empty file: 422, the text kept, the reason beside the field, nothing written', async () => {
    const { agent, csrf } = await visitor();
    const fields = { _csrf: csrf, ...REQUEST_FIELDS(`limits-${Date.now()}@customer.test`) };
    const cases: [Upload[], string][] = [
      [[['huge.bin', Buffer.alloc(64 * 1024 + 1, 1)]], 'huge.bin is too big'],
      [[1, 2, 3, 4].map((i) => [`f${i}.txt`, Buffer.from(`file ${i}\n`)] as Upload), 'At most 3 files'],
      [[['a.bin', Buffer.alloc(50 * 1024, 2)], ['b.bin', Buffer.alloc(50 * 1024, 3)]], 'too big together'],
      [[['empty.txt', Buffer.alloc(0)]], 'empty.txt is empty'],
    ];
    for (const [files, message] of cases) {
      const res = await expectNothingWritten(() => multipart(agent, '/request', fields, files));
      expect(res.status, message).toBe(422);
      expect(res.text).toContain(message);
      // What was typed comes back; the reason sits beside the file field, which points at it.
      expect(res.text).toContain('KEPT-DESCRIPTION: after pressing Print the screen goes black.');
      expect(res.text).toContain('value="Invoice screen goes black"');
      expect(res.text).toMatch(new RegExp(`<p class="field-error" id="files-error">[^<]*${message}`));
      expect(res.text).toMatch(/<input id="files" name="files" type="file" multiple aria-describedby="files-hint files-error" aria-invalid=true>/);
    }
    // A bad field and a bad file: both reasons shown, nothing written.
    const res = await expectNothingWritten(() => multipart(agent, '/request', { ...fields, email: 'not-an-email' }, [['empty.txt', Buffer.alloc(0)]]));
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter a valid email address.');
    expect(res.text).toContain('empty.txt is empty');
  });

  it('a bot filling the honeypot is thanked and nothing is saved, files included', async () => {
    const { agent, csrf } = await visitor();
    const res = await expectNothingWritten(() =>
      multipart(agent, '/request', { _csrf: csrf, ...REQUEST_FIELDS('bot@spam.test'), website: 'http://spam.test' }, [['pills.png', PNG, 'image/png']]),
    );
    expect(res.status).toBe(200);
    expect(res.text).toContain('Your request was received.');
    expect(res.text).not.toMatch(/CB-[0-9A-Z]{7}/);
  });

  it('without the CSRF token a multipart request is refused before anything is written', async () => {
    const { agent } = await visitor();
    const res = await expectNothingWritten(() => multipart(agent, '/request', REQUEST_FIELDS(`nocsrf-${Date.now()}@customer.test`), [['shot.png', PNG, 'image/png']]));
    expect(res.status).toBe(403);
  });
});

describe('replies through the private link take files', () => {
  it('a log file goes onto the customer’s reply, recorded as added by the customer', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Rico Reply', email: `rico-${Date.now()}@customer.test` } });
    const c = await customerOf(t.id);
    const page = await c.agent.get(`/s/${c.token}`).expect(200);
    expect(page.text).toMatch(new RegExp(`<form method="post" action="/s/${c.token}/reply"[^>]*enctype="multipart/form-data"`));
    expect(page.text).toMatch(/<label for="files">Attach files/);
    const log = Buffer.from('2026-12-04 10:00:01 ERROR printer spooler stopped\n');
    const before = await countRows(db);
    await multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: 'The log you asked for.' }, [['spooler.log', log, 'text/x-log']])
      .expect(303)
      .expect('Location', `/s/${c.token}?replied=1`);
    const after = await countRows(db);
    expect([after.WorkLogEntry! - before.WorkLogEntry!, after.Attachment! - before.Attachment!]).toEqual([1, 1]);
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id }, include: { attachments: true } });
    expect(entry).toMatchObject({ kind: 'CUSTOMER_REPLY', authorId: null, authorCustomerId: t.customerId, body: 'The log you asked for.' });
    expect(entry.attachments.map((f) => [f.fileName, f.mediaType, f.sha256, f.addedById, f.addedByCustomerId])).toEqual([
      ['spooler.log', 'text/plain', sha(log), null, t.customerId],
    ]);
    const added = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: 'ATTACHMENT_ADDED' } });
    expect(added.map((h) => [h.newValue, h.newRefId, h.actorId, h.actorCustomerId])).toEqual([['spooler.log', entry.attachments[0]!.id, null, t.customerId]]);
    // Listed under the reply on the link's page, and downloadable.
    const shown = await c.agent.get(`/s/${c.token}?replied=1`).expect(200);
    expect(shown.text).toContain(`href="${fileUrl(c.token, entry.attachments[0]!.id, 'spooler.log')}"`);
    const got = await bytesOf(c.agent.get(fileUrl(c.token, entry.attachments[0]!.id, 'spooler.log'))).expect(200);
    expect((got.body as Buffer).equals(log)).toBe(true);
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('a reply may be files alone; with neither text nor files it is refused', async () => {
    const t = await buildTicket(db, tech);
    const c = await customerOf(t.id);
    await multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: '  ' }, [['shot.png', PNG, 'image/png']]).expect(303);
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id }, include: { attachments: true } });
    expect(entry).toMatchObject({ kind: 'CUSTOMER_REPLY', body: '' });
    expect(entry.attachments).toHaveLength(1);
    const res = await expectNothingWritten(() => multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: '' }, []));
    expect(res.status).toBe(422);
    expect(res.text).toContain('Your reply is required.');
    await expectRefused(db, () => c.agent.post(`/s/${c.token}/reply`).type('form').send({ _csrf: c.csrf, body: ' ' }), 422, 'Your reply is required.');
  });

  it('past a limit, or with an empty file: 422, the reply kept, the reason beside the field, nothing written', async () => {
    const t = await buildTicket(db, tech);
    const c = await customerOf(t.id);
    const cases: [Upload[], string][] = [
      [[['huge.bin', Buffer.alloc(64 * 1024 + 1, 1)]], 'huge.bin is too big'],
      [[1, 2, 3, 4].map((i) => [`f${i}.txt`, Buffer.from(`file ${i}\n`)] as Upload), 'At most 3 files'],
      [[['a.bin', Buffer.alloc(50 * 1024, 2)], ['b.bin', Buffer.alloc(50 * 1024, 3)]], 'too big together'],
      [[['empty.log', Buffer.alloc(0)]], 'empty.log is empty'],
    ];
    for (const [files, message] of cases) {
      const res = await expectNothingWritten(() => multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: 'KEPT-REPLY text' }, files));
      expect(res.status, message).toBe(422);
      expect(res.text).toContain(message);
      expect(res.text).toContain('KEPT-REPLY text');
      expect(res.text).toMatch(new RegExp(`<p class="field-error" id="files-error">[^<]*${message}`));
      expect(res.text).toContain('aria-describedby="files-hint files-error"');
    }
    // Without its CSRF token: refused, nothing written.
    const res = await expectNothingWritten(() => multipart(c.agent, `/s/${c.token}/reply`, { body: 'no token' }, [['shot.png', PNG, 'image/png']]));
    expect(res.status).toBe(403);
  });

  it('hostile names and types: made safe, typed by their bytes, served as downloads in a sandbox', async () => {
    const t = await buildTicket(db, tech);
    const c = await customerOf(t.id);
    const html = Buffer.from('<!doctype html><html><body><script>fetch("/tickets")</script></body></html>');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.domain)</script></svg>');
    const passwd = Buffer.from('root:x:0:0:root:/root:/bin/bash\n');
    const before = await stored();
    await multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: 'four files' }, [
      ['../../etc/passwd', passwd, 'text/plain'],
      ['a\r\nSet-Cookie: pwned=1.txt', Buffer.from('crlf name\n'), 'text/plain'],
    ]).expect(303);
    await multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: 'two more' }, [
      ['cute-cat.png', html, 'image/png'],
      ['logo.svg', svg, 'image/svg+xml'],
    ]).expect(303);
    const after = await stored();
    expect(after.rows.Attachment! - before.rows.Attachment!).toBe(4);
    expect(after.rows.WorkLogEntry! - before.rows.WorkLogEntry!).toBe(2);
    expect(after.uploads).toBe(0);
    const files = await db.prisma.attachment.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    // No path, no line break (browsers and supertest send CR LF in a name as %0D%0A); types from the bytes.
    expect(files.map((f) => [f.fileName, f.mediaType])).toEqual([
      ['passwd', 'text/plain'],
      ['a%0D%0ASet-Cookie_ pwned=1.txt', 'text/plain'],
      ['cute-cat.png', 'text/html'],
      ['logo.svg', 'image/svg+xml'],
    ]);
    const [p, crlf, fake, pic] = files as [(typeof files)[number], (typeof files)[number], (typeof files)[number], (typeof files)[number]];
    const res = await c.agent.get(fileUrl(c.token, p.id, p.fileName)).expect(200);
    expect(res.headers['content-disposition']).toBe('inline; filename=passwd');
    const res2 = await c.agent.get(fileUrl(c.token, crlf.id, 'x')).expect(200);
    expect(res2.headers['set-cookie']).toBeUndefined();
    expect(res2.headers['content-disposition']).not.toMatch(/[\r\n]/);
    // An HTML page declared as a PNG, and an SVG with a script: downloads, never pages of this origin.
    for (const f of [fake, pic]) {
      const got = await bytesOf(c.agent.get(fileUrl(c.token, f.id, f.fileName))).expect(200);
      expect(got.headers['content-type']).toBe('application/octet-stream');
      expect(got.headers['content-disposition']).toMatch(/^attachment; filename=/);
      expect(got.headers['x-content-type-options']).toBe('nosniff');
      expect(got.headers['content-security-policy']).toContain("default-src 'none'");
      expect(got.headers['content-security-policy']).toContain('sandbox');
      expect(got.headers['cache-control']).toBe('no-store');
    }
    // The page shows them as files, not as images.
    const page = await c.agent.get(`/s/${c.token}`).expect(200);
    expect(page.text).not.toContain(`<img src="${fileUrl(c.token, fake.id, fake.fileName)}"`);
    expect(page.text).not.toContain(`<img src="${fileUrl(c.token, pic.id, pic.fileName)}"`);
    expect(page.text).toContain(`>${'cute-cat.png'}</a>`);
  });

  it('an upload cut off half way writes nothing', async () => {
    // Default limits (20 MB): 1 MB is past the size from which bytes are staged, and is cut after half.
    const full = testApp(db);
    const server = http.createServer(full);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const t = await buildTicket(db, tech);
      const token = await issueAccessToken(db.pool, t.id, null, 30);
      // A browser on the link's page: its CSRF cookie and the page's token (it pressed the button).
      const first = await request(full).get(`/s/${token}`).expect(200);
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      await request(full).post(`/s/${token}/confirm`).set('Cookie', cookie).type('form').send({ _csrf: csrfOf(first.text) }).expect(303);
      const page = await request(full).get(`/s/${token}`).set('Cookie', cookie).expect(200);
      const csrf = csrfOf(page.text);
      const boundary = '----caseboard-test-boundary';
      const file = Buffer.alloc(1024 * 1024, 0x41);
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\nHalf a file\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.log"\r\nContent-Type: text/plain\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const send = (cut: boolean) =>
        new Promise<number | 'cut'>((resolve, reject) => {
          const req = http.request({
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: `/s/${token}/reply`,
            headers: {
              'Content-Type': `multipart/form-data; boundary=${boundary}`,
              'Content-Length': head.length + file.length + tail.length,
              Cookie: cookie,
            },
          });
          req.on('response', (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', (err) => (cut ? resolve('cut') : reject(err)));
          req.on('close', () => cut && resolve('cut'));
          req.write(head);
          if (!cut) {
            req.end(Buffer.concat([file, tail]));
            return;
          }
          req.write(file.subarray(0, file.length / 2), () => setTimeout(() => req.destroy(), 50));
        });
      const before = await stored();
      expect(await send(true)).toBe('cut');
      // Give the server time to see the connection end and to finish whatever it had started.
      await new Promise((r) => setTimeout(r, 500));
      expect(await stored()).toEqual(before);
      expect(await db.prisma.fileUpload.count()).toBe(0);
      // The same request sent whole goes through (the refusal above was the cut's doing).
      expect(await send(false)).toBe(303);
      const after = await stored();
      expect([after.rows.WorkLogEntry! - before.rows.WorkLogEntry!, after.rows.Attachment! - before.rows.Attachment!]).toEqual([1, 1]);
      expect(after.uploads).toBe(0);
      expect(await db.prisma.fileContent.count({ where: { sha256: sha(file) } })).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
      // The limits are the process's (the last app made sets them): back to this file's.
      testApp(db, SMALL_LIMITS);
    }
  });
});

describe('who downloads which file', () => {
  let t: Ticket;
  let ids: { reply: number; own: number; note: number; fix: number; report: number };
  const bytes = {
    reply: Buffer.from('staff reply file: driver settings\n'),
    own: Buffer.from('customer own file: event log\n'),
    note: Buffer.from('INTERNAL note file: the customer runs a pirated driver\n'),
    fix: Buffer.from('INTERNAL attempted fix file: registry export\n'),
    report: Buffer.from('staff-logged report file: phone notes\n'),
  };
  let c: Awaited<ReturnType<typeof customerOf>>;

  beforeAll(async () => {
    // Logged by staff (a phone call) with a file on its report: the report is staff's, not public.
    t = await buildTicket(db, tech, {
      customer: { name: 'Mara Matrix', email: `mara-${Date.now()}@customer.test` },
      files: [incomingFile('phone-notes.txt', bytes.report)],
    });
    const ctx = as(db, tech);
    const reply = await addWorkLog(ctx, t.reference, { kind: 'REPLY', body: 'Please try these settings.', files: [incomingFile('settings.txt', bytes.reply)] });
    const note = await addWorkLog(ctx, t.reference, { kind: 'NOTE', body: 'SECRET-NOTE-BODY', files: [incomingFile('secret-note.txt', bytes.note)] });
    const fix = await addWorkLog(ctx, t.reference, { kind: 'ATTEMPTED_FIX', body: 'SECRET-FIX-BODY', outcome: 'FAILED', files: [incomingFile('secret-fix.reg', bytes.fix)] });
    c = await customerOf(t.id);
    await multipart(c.agent, `/s/${c.token}/reply`, { _csrf: c.csrf, body: 'Here is my log.' }, [['events.log', bytes.own, 'text/plain']]).expect(303);
    const own = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: t.id, fileName: 'events.log' } });
    const report = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: t.id, workLogEntryId: null } });
    ids = { reply: reply.attachments[0]!.id, own: own.id, note: note.attachments[0]!.id, fix: fix.attachments[0]!.id, report: report.id };
  });

  /** GETs that must answer `status` and write nothing (rows, link confirmations, sessions). */
  async function expectAnswer(send: () => request.Test, status: number, ...texts: string[]) {
    const links = async () => (await db.pool.query('SELECT id, "confirmedAt", "revokedAt" FROM "TicketAccessToken" ORDER BY id')).rows;
    const sessions = async () => (await db.pool.query('SELECT count(*)::int AS n FROM "session"')).rows[0].n;
    const before = [await stored(), await links(), await sessions()];
    const res = await send();
    expect(res.status).toBe(status);
    for (const text of texts) expect(res.text).toContain(text);
    expect([await stored(), await links(), await sessions()]).toEqual(before);
    return res;
  }

  it('the ticket’s customer, through their own confirmed link, gets the staff reply’s file and their own', async () => {
    for (const key of ['reply', 'own'] as const) {
      const res = await bytesOf(c.agent.get(fileUrl(c.token, ids[key]))).expect(200);
      expect((res.body as Buffer).equals(bytes[key]), key).toBe(true);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain('sandbox');
      // ?download=1 forces a download, as on the staff side.
      const dl = await c.agent.get(`${fileUrl(c.token, ids[key])}?download=1`).expect(200);
      expect(dl.headers['content-disposition']).toMatch(/^attachment/);
    }
    // The name in the URL is decoration: any name, or none, serves the file of that id.
    await c.agent.get(`/s/${c.token}/files/${ids.reply}`).expect(200);
    // A later link of the same ticket works at once (a person confirmed one of its links).
    const later = await issueAccessToken(db.pool, t.id, null, 30);
    await request(app).get(fileUrl(later, ids.reply)).expect(200);
  });

  it('a note’s file, an attempted fix’s file, a staff report’s file and a file that does not exist are the same 404', async () => {
    const bodies = new Set<string>();
    for (const id of [ids.note, ids.fix, ids.report, 2_000_000_000]) {
      const res = await expectAnswer(() => c.agent.get(fileUrl(c.token, id, 'secret-note.txt')), 404, 'There is no such file');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).not.toContain('INTERNAL');
      bodies.add(res.text);
    }
    expect(bodies.size).toBe(1);
    for (const bad of ['0', '-1', 'abc', '99999999999']) {
      await expectAnswer(() => c.agent.get(`/s/${c.token}/files/${bad}/x`), 404, 'There is no such file');
    }
  });

  it('another customer’s link gets 404 for this ticket’s files, even the public ones', async () => {
    const other = await buildTicket(db, tech, { customer: { name: 'Otto Other', email: `otto-${Date.now()}@customer.test` } });
    const o = await customerOf(other.id);
    for (const id of Object.values(ids)) {
      await expectAnswer(() => o.agent.get(fileUrl(o.token, id)), 404, 'There is no such file');
    }
  });

  it('a link nobody has confirmed serves no file (it sends to the page with the button), and HEAD changes nothing', async () => {
    const fresh = await buildTicket(db, tech);
    const reply = await addWorkLog(as(db, tech), fresh.reference, { kind: 'REPLY', body: 'Attached.', files: [incomingFile('unconfirmed.txt', Buffer.from('not yet\n'))] });
    const token = await issueAccessToken(db.pool, fresh.id, null, 30);
    const fileId = reply.attachments[0]!.id;
    for (const id of [fileId, 2_000_000_000]) {
      const res = await expectAnswer(() => request(app).get(fileUrl(token, id)), 303);
      expect(res.headers.location).toBe(`/s/${token}`);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect(res.text).not.toContain('not yet');
      await expectAnswer(() => request(app).head(fileUrl(token, id)), 303);
    }
    // HEAD on a confirmed link's file: the headers only, and nothing changes either.
    const head = await expectAnswer(() => request(app).head(fileUrl(c.token, ids.reply)), 200);
    expect(head.headers['cache-control']).toBe('no-store');
    // After the button, the same URL serves the file.
    const page = await request.agent(app).get(`/s/${token}`);
    expect(page.text).toContain('Show my request');
    await confirmLink(request.agent(app), token);
    await request(app).get(fileUrl(token, fileId)).expect(200);
  });

  it('expired, revoked, altered and garbage tokens get the page’s “link not valid” 404', async () => {
    const x = await buildTicket(db, tech);
    const reply = await addWorkLog(as(db, tech), x.reference, { kind: 'REPLY', body: 'Attached.', files: [incomingFile('gone.txt', Buffer.from('gone\n'))] });
    const fileId = reply.attachments[0]!.id;
    const live = await customerOf(x.id);
    await live.agent.get(fileUrl(live.token, fileId)).expect(200);
    const expired = await issueAccessToken(db.pool, x.id, null, 30);
    await db.pool.query(`UPDATE "TicketAccessToken" SET "expiresAt" = now() - interval '1 minute' WHERE "ticketId" = $1 AND "confirmedAt" IS NULL`, [x.id]);
    const altered = live.token.slice(0, -1) + (live.token.endsWith('A') ? 'B' : 'A');
    for (const bad of [expired, altered, 'garbage', 'x'.repeat(43), '..%2F..%2Fetc']) {
      const res = await expectAnswer(() => request(app).get(fileUrl(bad, fileId)), 404, 'This link is not valid any more');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    await revokeAccessLinks(as(db, tech), { reference: x.reference });
    await expectAnswer(() => live.agent.get(fileUrl(live.token, fileId)), 404, 'This link is not valid any more');
  });

  it('staff files stay staff’s: anonymous → sign-in, a technician reads any, a deactivated user’s replayed cookie → sign-in', async () => {
    const staffUrl = (id: number) => `/tickets/${t.reference}/files/${id}/x`;
    for (const id of [ids.note, ids.reply]) {
      const res = await expectAnswer(() => request(app).get(staffUrl(id)), 303);
      expect(res.headers.location).toMatch(/^\/login\?next=/);
      // Nor does the customer's own browser (holding the link's cookies) get in there.
      const viaCustomer = await expectAnswer(() => c.agent.get(staffUrl(id)), 303);
      expect(viaCustomer.headers.location).toMatch(/^\/login\?next=/);
    }
    const staff = await signIn(app, tech.email);
    const note = await bytesOf(staff.agent.get(staffUrl(ids.note))).expect(200);
    expect((note.body as Buffer).equals(bytes.note)).toBe(true);
    const leaving = await buildUser(db, { name: 'Lee Leaving' });
    const session = await signIn(app, leaving.email);
    await session.agent.get(staffUrl(ids.note)).expect(200);
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id: leaving.id } });
    await setUserActive(as(db, admin), leaving.id, row.version, false);
    const res = await session.agent.get(staffUrl(ids.note));
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
  });

  it('the link’s page lists the files of public entries, never a note’s or an attempted fix’s (nor staff’s report)', async () => {
    const page = await c.agent.get(`/s/${c.token}`).expect(200);
    expect(page.text).toContain('settings.txt');
    expect(page.text).toContain(`href="${fileUrl(c.token, ids.reply, 'settings.txt')}"`);
    expect(page.text).toContain('events.log');
    for (const hidden of ['secret-note.txt', 'secret-fix.reg', 'phone-notes.txt', 'SECRET-NOTE-BODY', 'SECRET-FIX-BODY', '/tickets/']) {
      expect(page.text, hidden).not.toContain(hidden);
    }
    for (const id of [ids.note, ids.fix, ids.report]) expect(page.text).not.toContain(`/files/${id}`);
    // No staff action (redaction) is offered to the customer.
    expect(page.text).not.toContain('redact-file');
  });

  it('a redacted file: listed as redacted without saying by whom, and 410 with no bytes', async () => {
    const x = await buildTicket(db, tech);
    const reply = await addWorkLog(as(db, tech), x.reference, { kind: 'REPLY', body: 'Oops.', files: [incomingFile('password.txt', Buffer.from('hunter2 customer redaction\n'))] });
    const fileId = reply.attachments[0]!.id;
    await redactAttachment(as(db, admin), x.reference, fileId, { everywhere: false });
    const x2 = await customerOf(x.id);
    const page = await x2.agent.get(`/s/${x2.token}`).expect(200);
    expect(page.text).toMatch(/<s>password\.txt<\/s> — redacted/);
    expect(page.text).not.toContain('Ada Admin');
    expect(page.text).not.toContain(`href="${fileUrl(x2.token, fileId, 'password.txt')}"`);
    const res = await expectAnswer(() => x2.agent.get(fileUrl(x2.token, fileId, 'password.txt')), 410, 'password.txt was redacted');
    expect(res.text).not.toContain('Ada Admin');
    expect(res.text).not.toContain('hunter2');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('the upload budget', () => {
  it('strangers may hold at most half of UPLOAD_MEMORY_BYTES: staff can still attach files', async () => {
    // 1 MiB for all uploads in flight: a 600 KB file is too much for a visitor, not for staff.
    const small = testApp(db, { UPLOAD_MEMORY_BYTES: String(1024 * 1024) });
    const file = Buffer.alloc(600 * 1024, 7);
    const agent = request.agent(small);
    const csrf = csrfOf((await agent.get('/request').expect(200)).text);
    const refused = await expectNothingWritten(() =>
      agent.post('/request').field('_csrf', csrf).field('name', 'Bea Budget').field('email', 'bea@customer.test')
        .field('title', 'Big screenshot').field('description', 'KEPT-BUDGET').attach('files', file, 'big.png'),
    );
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('receiving many files at the moment');
    expect(refused.text).toContain('KEPT-BUDGET');
    const t = await buildTicket(db, tech);
    const staff = await signIn(small, tech.email);
    await staff.agent.post(`/tickets/${t.reference}/worklog`).field('_csrf', staff.csrf).field('kind', 'NOTE').field('body', 'dump')
      .attach('files', file, 'big.bin').expect(303);
    expect(await db.prisma.attachment.count({ where: { ticketId: t.id } })).toBe(1);
  });
});
