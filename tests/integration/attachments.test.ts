// Files on tickets, through HTTP as technicians use them: upload with a note / reply / new ticket,
// the ticket page lists them, downloads are served safely, limits re-render the form with the
// text kept and write nothing, identical bytes are stored once, and admins can redact.
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { PNG, sha, SMALL_LIMITS } from '../helpers/files.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;
let agent: TestAgent;
let csrf: string;


beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, SMALL_LIMITS);
  tech = await buildUser(db, { name: 'Tia Tech' });
  admin = await buildUser(db, { name: 'Ada Admin', role: 'ADMIN' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

const worklog = (ref: string, fields: Record<string, string>, files: [string, Buffer, string?][]) => {
  let req = agent.post(`/tickets/${ref}/worklog`).field('_csrf', csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  for (const [name, bytes, type] of files) req = req.attach('files', bytes, { filename: name, contentType: type ?? 'application/octet-stream' });
  return req;
};

describe('staff attach files to work-log entries', () => {
  it('a note with a log and a screenshot: stored, listed, history rows, type detected from bytes', async () => {
    const t = await buildTicket(db, tech);
    const log = Buffer.from('2026-12-04 10:00:01 ERROR disk full\n');
    const res = await worklog(t.reference, { kind: 'NOTE', body: 'Logs from the server' }, [['server.log', log, 'application/x-msdownload'], ['shot.png', PNG, 'text/html']]);
    expect(res.status).toBe(303);
    const files = await db.prisma.attachment.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(files.map((f) => [f.fileName, f.mediaType, f.size, f.sha256])).toEqual([
      ['server.log', 'text/plain', log.length, sha(log)],
      ['shot.png', 'image/png', PNG.length, sha(PNG)],
    ]);
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id } });
    expect(files.every((f) => f.workLogEntryId === entry.id && f.addedById === tech.id)).toBe(true);
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: 'ATTACHMENT_ADDED' } });
    expect(history.map((h) => h.newValue).sort()).toEqual(['server.log', 'shot.png']);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('server.log');
    expect(page.text).toContain(`/tickets/${t.reference}/files/${files[1]!.id}/shot.png`);
    expect(page.text).toContain('attached the file “shot.png”');
    // Download: the same bytes; the PNG inline, the log as plain text.
    const img = await agent.get(`/tickets/${t.reference}/files/${files[1]!.id}/shot.png`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(sha(img.body as Buffer)).toBe(sha(PNG));
    expect(img.headers['content-type']).toBe('image/png');
    expect(img.headers['x-content-type-options']).toBe('nosniff');
    expect(img.headers['content-disposition']).toMatch(/^inline/);
    // A browser revalidating its copy: 304, and the service decided without reading the bytes.
    const url = `/tickets/${t.reference}/files/${files[1]!.id}/shot.png`;
    await agent.get(url).set('If-None-Match', `"${sha(PNG)}"`).expect(304).expect('etag', `"${sha(PNG)}"`);
    const { readTicketFile } = await import('../../src/services/attachments/read.js');
    const { as } = await import('../helpers/factories.js');
    expect((await readTicketFile(as(db, tech), t.reference, files[1]!.id, { have: sha(PNG) })).bytes).toBeNull();
    expect((await readTicketFile(as(db, tech), t.reference, files[1]!.id, { have: sha(log) })).bytes?.equals(PNG)).toBe(true);
  });

  it('a file alone (no text) is an entry; the same bytes twice are stored once', async () => {
    const t = await buildTicket(db, tech);
    const bytes = Buffer.from('same bytes, twice\n');
    const before = await db.prisma.fileContent.count();
    await worklog(t.reference, { kind: 'NOTE' }, [['a.txt', bytes]]).expect(303);
    await worklog(t.reference, { kind: 'ATTEMPTED_FIX', outcome: 'FAILED', body: 'again' }, [['b.txt', bytes]]).expect(303);
    expect(await db.prisma.fileContent.count()).toBe(before + 1);
    expect(await db.prisma.attachment.count({ where: { sha256: sha(bytes) } })).toBe(2);
  });

  it('HTML and SVG are downloads in a sandbox, never a page of this origin', async () => {
    const t = await buildTicket(db, tech);
    const html = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    await worklog(t.reference, { kind: 'NOTE', body: 'x' }, [['page.html', html, 'text/html'], ['pic.svg', svg, 'image/svg+xml']]).expect(303);
    const files = await db.prisma.attachment.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(files.map((f) => f.mediaType)).toEqual(['text/html', 'image/svg+xml']);
    for (const f of files) {
      const res = await agent.get(`/tickets/${t.reference}/files/${f.id}/${f.fileName}`).expect(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename=/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['content-security-policy']).toContain('sandbox');
    }
  });

  it('past the limits: 422, the text kept, nothing written', async () => {
    const t = await buildTicket(db, tech);
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    const res = await expectRefused(db, () => worklog(t.reference, { kind: 'NOTE', body: 'Kept text' }, [['big.bin', big]]), 422, 'big.bin is too big');
    expect(res.text).toContain('Kept text');
    await expectRefused(db, () => worklog(t.reference, { kind: 'NOTE', body: 'x' }, [1, 2, 3, 4].map((i) => [`f${i}.txt`, Buffer.from(`file ${i}`)] as [string, Buffer])), 422, 'At most 3 files');
    const half = Buffer.alloc(50 * 1024, 2);
    await expectRefused(db, () => worklog(t.reference, { kind: 'NOTE', body: 'x' }, [['a.bin', half], ['b.bin', Buffer.alloc(50 * 1024, 3)]]), 422, 'too big together');
    await expectRefused(db, () => worklog(t.reference, { kind: 'NOTE', body: 'x' }, [['empty.txt', Buffer.alloc(0)]]), 422, 'empty.txt is empty');
    // The form's text together is held to what a urlencoded form may send (200 KB), not 100 fields × 200 KB.
    const text = 'x'.repeat(150 * 1024);
    await expectRefused(db, () => worklog(t.reference, { kind: 'NOTE', body: 'x', a: text, b: text }, [['a.txt', Buffer.from('a')]]), 422, 'more text than Caseboard accepts');
  });

  it('a path-traversal or CRLF name is made safe', async () => {
    const t = await buildTicket(db, tech);
    await worklog(t.reference, { kind: 'NOTE', body: 'x' }, [['../../etc/passwd', Buffer.from('root:x:0:0')], ['a\r\nSet-Cookie: x=1.txt', Buffer.from('y')]]).expect(303);
    const files = await db.prisma.attachment.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    // Browsers (and supertest) send CR LF in a file name as %0D%0A: it arrives as text, harmless.
    expect(files.map((f) => f.fileName)).toEqual(['passwd', 'a%0D%0ASet-Cookie_ x=1.txt']);
    const res = await agent.get(`/tickets/${t.reference}/files/${files[1]!.id}/x`).expect(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['content-disposition']).not.toMatch(/[\r\n]/);
  });

  it('safeFileName: raw control characters, paths, bidi overrides, dots, length', async () => {
    const { safeFileName } = await import('../../src/services/attachments/files.js');
    expect(safeFileName('a\r\nSet-Cookie: x=1.txt')).toBe('aSet-Cookie_ x=1.txt');
    expect(safeFileName('..\\..\\windows\\system.ini')).toBe('system.ini');
    expect(safeFileName('invoice\u202Egnp.exe')).toBe('invoicegnp.exe');
    expect(safeFileName('  ...hidden  ')).toBe('hidden');
    expect(safeFileName('\u0000', 'image/png')).toBe('image.png');
    expect(safeFileName('', null)).toBe('attachment.bin');
    const long = safeFileName('x'.repeat(400) + '.pdf');
    expect(long.length).toBe(255);
    expect(long.endsWith('.pdf')).toBe(true);
    // A mail part's name may be a megabyte: runs of dots or spaces inside it made the trailing-dot
    // expression quadratic (minutes for one name, on the main thread). Linear now.
    for (const evil of [`a${'.'.repeat(1_000_000)}b.log`, `a${' '.repeat(1_000_000)}b`, `${'. '.repeat(500_000)}x`]) {
      const t0 = performance.now();
      const out = safeFileName(evil);
      expect(performance.now() - t0, JSON.stringify(evil.slice(0, 8))).toBeLessThan(250);
      expect(out.length).toBeLessThanOrEqual(255);
    }
    expect(safeFileName(`report${'.'.repeat(5000)}final.pdf`)).toMatch(/^report\.+\.pdf$/);
  });

  it('a new ticket with a screenshot: the report holds it', async () => {
    const res = await agent
      .post('/tickets')
      .field('_csrf', csrf)
      .field('title', 'Screen goes black')
      .field('description', 'See the screenshot')
      .field('urgency', 'HIGH')
      .field('channel', 'PHONE')
      .field('customerName', 'Sam Shot')
      .field('customerEmail', 'sam@example.com')
      .attach('files', PNG, { filename: 'black.png', contentType: 'image/png' })
      .expect(303);
    const ref = res.headers.location!.split('/').pop()!;
    const file = await db.prisma.attachment.findFirstOrThrow({ where: { ticket: { reference: ref } } });
    expect(file).toMatchObject({ workLogEntryId: null, fileName: 'black.png', addedById: tech.id });
  });
});

describe('redaction', () => {
  it('an admin redacts: bytes gone (when no other entry has them), entry says so, history records it', async () => {
    const t = await buildTicket(db, tech);
    const secret = Buffer.from('password: hunter2 (redaction test)\n');
    await worklog(t.reference, { kind: 'NOTE', body: 'oops' }, [['secret.txt', secret]]).expect(303);
    const file = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: t.id } });
    // A technician may not.
    await agent.post(`/tickets/${t.reference}/redact-file/${file.id}`).field('_csrf', csrf).expect(403);
    const { agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email);
    const historyBefore = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    await adminAgent.get(`/tickets/${t.reference}/redact-file/${file.id}`).expect(200);
    await adminAgent.post(`/tickets/${t.reference}/redact-file/${file.id}`).type('form').send({ _csrf: adminCsrf }).expect(303);
    expect(await db.prisma.fileContent.count({ where: { sha256: sha(secret) } })).toBe(0);
    const after = await db.prisma.attachment.findUniqueOrThrow({ where: { id: file.id } });
    expect(after).toMatchObject({ sha256: null, redactedById: admin.id });
    await agent.get(`/tickets/${t.reference}/files/${file.id}/secret.txt`).expect(410);
    // A browser holding the file from before is told it is gone, not that its copy is current.
    await agent.get(`/tickets/${t.reference}/files/${file.id}/secret.txt`).set('If-None-Match', `"${sha(secret)}"`).expect(410);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('redacted by Ada Admin');
    const historyAfter = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id }, orderBy: { id: 'asc' } });
    expect(historyAfter.slice(0, historyBefore.length)).toEqual(historyBefore);
    expect(historyAfter.slice(historyBefore.length).map((h) => [h.action, h.oldValue, h.actorId])).toEqual([['ATTACHMENT_REDACTED', 'secret.txt', admin.id]]);
  });

  it('the same bytes on another ticket stay readable unless redacted everywhere', async () => {
    const a = await buildTicket(db, tech);
    const b = await buildTicket(db, tech);
    const bytes = Buffer.from('shared personal data\n');
    await worklog(a.reference, { kind: 'NOTE', body: 'a' }, [['data.txt', bytes]]).expect(303);
    await worklog(b.reference, { kind: 'NOTE', body: 'b' }, [['copy.txt', bytes]]).expect(303);
    const fa = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: a.id } });
    const fb = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: b.id } });
    const { agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email);
    const confirm = await adminAgent.get(`/tickets/${a.reference}/redact-file/${fa.id}`).expect(200);
    expect(confirm.text).toContain(b.reference);
    await adminAgent.post(`/tickets/${a.reference}/redact-file/${fa.id}`).type('form').send({ _csrf: adminCsrf }).expect(303);
    await agent.get(`/tickets/${a.reference}/files/${fa.id}/data.txt`).expect(410);
    await agent.get(`/tickets/${b.reference}/files/${fb.id}/copy.txt`).expect(200);
    expect(await db.prisma.fileContent.count({ where: { sha256: sha(bytes) } })).toBe(1);
    await adminAgent.post(`/tickets/${b.reference}/redact-file/${fb.id}`).type('form').send({ _csrf: adminCsrf, everywhere: '1' }).expect(303);
    expect(await db.prisma.fileContent.count({ where: { sha256: sha(bytes) } })).toBe(0);
  });

  it('the database refuses deleting an attachment or changing it otherwise', async () => {
    const t = await buildTicket(db, tech);
    await worklog(t.reference, { kind: 'NOTE', body: 'x' }, [['keep.txt', Buffer.from('keep')]]).expect(303);
    const f = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: t.id } });
    await expect(db.pool.query(`DELETE FROM "Attachment" WHERE id = $1`, [f.id])).rejects.toThrow(/record/);
    await expect(db.pool.query(`UPDATE "Attachment" SET "fileName" = 'x' WHERE id = $1`, [f.id])).rejects.toThrow(/record/);
    const before = await countRows(db);
    expect(before.Attachment).toBeGreaterThan(0);
  });
});

describe('large files', () => {
  it('a 2 MB file is staged over the pool, moved into the content in the transaction, and no staged row stays', async () => {
    const t = await buildTicket(db, tech);
    const bytes = Buffer.alloc(60 * 1024, 7);
    const app2 = testApp(db);
    const { agent: a2, csrf: c2 } = await signIn(app2, tech.email);
    const big = Buffer.concat([bytes, Buffer.alloc(2 * 1024 * 1024 - bytes.length, 9)]);
    await a2.post(`/tickets/${t.reference}/worklog`).field('_csrf', c2).field('kind', 'NOTE').field('body', 'big').attach('files', big, 'big.bin').expect(303);
    expect(await db.prisma.fileContent.count({ where: { sha256: sha(big) } })).toBe(1);
    expect(await db.prisma.fileUpload.count()).toBe(0);
    // A refused change (closed ticket) after staging: the staged bytes are deleted too, nothing kept.
    const closed = await buildTicket(db, tech);
    await db.pool.query(`UPDATE "Ticket" SET status = 'CLOSED' WHERE id = $1`, [closed.id]);
    const other = Buffer.alloc(1024 * 1024, 5);
    await expectRefused(db, () => a2.post(`/tickets/${closed.reference}/worklog`).field('_csrf', c2).field('kind', 'NOTE').field('body', 'x').attach('files', other, 'other.bin'), 422);
    expect(await db.prisma.fileUpload.count()).toBe(0);
  });

  // The embedded PGlite runs PostgreSQL (WASM) on this very thread: there every query holds the
  // event loop, and writing 20 MB holds it ~0.6 s (1.4 s for /health under load, seen here; README,
  // Files). Its bounds say that; a PostgreSQL server's say the upload itself holds nothing.
  const embedded = inject('testDb').mode === 'embedded';
  const bound = embedded ? { healthMs: 4000, loopMs: 2500 } : { healthMs: 400, loopMs: 300 };
  it(`a 20 MB upload holds no other request: /health answers within ${bound.healthMs} ms, the event loop is held less than ${bound.loopMs} ms`, async () => {
    const t = await buildTicket(db, tech);
    const big = randomBytes(20 * 1024 * 1024);
    const app3 = testApp(db);
    const { agent: a3, csrf: c3 } = await signIn(app3, tech.email);
    // The form built beforehand, so that the measurement sees the server's work, not the client's.
    const boundary = `----caseboard${randomBytes(8).toString('hex')}`;
    const part = (headers: string, body: Buffer | string) => Buffer.concat([Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(body), Buffer.from('\r\n')]);
    const form = Buffer.concat([
      part('Content-Disposition: form-data; name="_csrf"', c3),
      part('Content-Disposition: form-data; name="kind"', 'NOTE'),
      part('Content-Disposition: form-data; name="body"', 'The full memory dump.'),
      part('Content-Disposition: form-data; name="files"; filename="dump.bin"\r\nContent-Type: application/octet-stream', big),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const health: number[] = [];
    let done = false;
    loop.enable();
    const upload = a3.post(`/tickets/${t.reference}/worklog`).set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(form)
      .then((res) => res, (err: unknown) => err as never)
      .finally(() => {
        done = true;
      });
    while (!done) {
      const t0 = performance.now();
      await request(app3).get('/health').expect(200);
      health.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await upload;
    loop.disable();
    const loopMaxMs = loop.max / 1e6;
    console.info(`20 MB upload: /health ×${health.length}, slowest ${Math.round(Math.max(...health))} ms; event loop held ${Math.round(loopMaxMs)} ms at most`);
    expect(res.status).toBe(303);
    expect(await db.prisma.fileContent.count({ where: { sha256: sha(big) } })).toBe(1);
    expect(health.length).toBeGreaterThan(embedded ? 0 : 2);
    // Generous bounds for a loaded, shared machine (seen here on a server: /health ≤ 85 ms, the loop
    // held ≤ 60 ms; with the bytes through Prisma's query layer instead of staged over the pool, ~100 ms).
    expect(Math.max(...health)).toBeLessThan(bound.healthMs);
    expect(loopMaxMs).toBeLessThan(bound.loopMs);
  });
});

describe('no file is read before the form shows a valid token', () => {
  it('a file part before the _csrf field, or with a wrong one: 403, nothing written', async () => {
    const t = await buildTicket(db, tech);
    await expectRefused(db, () => agent.post(`/tickets/${t.reference}/worklog`).attach('files', Buffer.from('early'), 'early.txt').field('_csrf', csrf).field('kind', 'NOTE').field('body', 'x'), 403);
    await expectRefused(db, () => agent.post(`/tickets/${t.reference}/worklog`).field('_csrf', `${csrf}x`).field('kind', 'NOTE').field('body', 'x').attach('files', Buffer.from('forged'), 'forged.txt'), 403);
    // The token first, as every form sends it: taken.
    await agent.post(`/tickets/${t.reference}/worklog`).field('_csrf', csrf).field('kind', 'NOTE').field('body', 'x').attach('files', Buffer.from('fine'), 'fine.txt').expect(303);
  });

  it('a forged upload is refused as soon as its file begins, not after 20 MB have arrived', async () => {
    const server = createServer(testApp(db)).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      const boundary = 'forged-upload';
      const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="dump.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/request', headers: {
          'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + 20 * 1024 * 1024 + 40),
        } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
        // The head and the first megabyte; the other 19 MB are never sent: the answer must come anyway.
        req.write(head);
        req.write(randomBytes(1024 * 1024));
      });
      expect(status).toBe(403);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
