// Automatic error reports: the Sentry-compatible intake (store, envelope, gzip, keys), grouping,
// caps, throttle, bad bodies refused with nothing written, tickets created and reopened by the
// project's service account, counts that survive several instances at once, the pages.
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import type { Actor } from '../../src/services/context.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildUser } from '../helpers/factories.js';
import { csrfOf, signIn } from '../helpers/http.js';
import { createErrorProject, updateErrorProject } from '../../src/services/errors/projects.js';
import { ErrorIntake, KeyThrottle } from '../../src/services/errors/intake.js';
import { fromSentryEvent } from '../../src/services/errors/event.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { createOrganization } from '../../src/services/organizations/manage-organizations.js';
import type { ErrorProject } from '../../src/generated/prisma/client.js';

let db: TestDatabase;
let app: Express;
let intake: ErrorIntake;
let admin: Actor;
let project: ErrorProject;
let key: string;
let other: { project: ErrorProject; key: string };

const config = loadConfig({ NODE_ENV: 'test' });
function appWith(i: ErrorIntake): Express {
  return createApp({ db, config, sessionSecret: 'test-secret-that-is-long-enough-1234567890', pruneSessions: false, errorIntake: i });
}

beforeAll(async () => {
  db = await createTestDatabase();
  // Flushed by hand (flush()) or every 20 ms.
  intake = new ErrorIntake(db.prisma, { flushMs: 20, perMinute: 100_000 });
  app = appWith(intake);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
  ({ project, key } = await createErrorProject(as(db, admin), {
    name: 'Checkout app',
    teamId: team.id,
    urgency: 'HIGH',
    perMinute: null,
    customerName: 'Shop Ltd',
    customerEmail: 'ops@shop.example',
  }));
  other = await createErrorProject(as(db, admin), { name: 'Other app', teamId: team.id, urgency: 'LOW', perMinute: null, customerName: 'Other', customerEmail: 'other@shop.example' });
});
afterAll(async () => {
  await intake?.stop();
  await db?.close();
});

let seq = 0;
/** An exception event as @sentry/node sends it. */
function sentryEvent(over: { type?: string; value?: string; fn?: string; line?: number; release?: string; fingerprint?: string[]; extra?: Record<string, unknown> } = {}) {
  seq++;
  return {
    event_id: randomUUID().replace(/-/g, ''),
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: 'error',
    release: over.release ?? 'checkout@1.0.0',
    environment: 'production',
    exception: {
      values: [
        {
          type: over.type ?? 'TypeError',
          value: over.value ?? `Cannot read properties of undefined (reading 'total') #${seq}`,
          mechanism: { type: 'onuncaughtexception', handled: false },
          stacktrace: {
            frames: [
              { filename: 'node:internal/process/task_queues', module: 'task_queues', function: 'process.processTicksAndRejections', lineno: 95, in_app: false },
              { filename: '/srv/app/node_modules/express/lib/router.js', module: 'express.lib:router', function: 'handle', lineno: 10, in_app: false },
              { filename: '/srv/app/src/cart.js', module: 'cart', function: over.fn ?? 'computeTotal', lineno: over.line ?? 42, colno: 7, in_app: true },
            ],
          },
        },
      ],
    },
    fingerprint: over.fingerprint,
    tags: { region: 'eu-west', 'http.status': '500' },
    user: { id: '42', email: 'buyer@example.com', ip_address: '203.0.113.9' },
    breadcrumbs: [{ timestamp: Date.now() / 1000, category: 'http', level: 'info', message: 'GET /cart' }],
    request: { method: 'POST', url: 'https://shop.example/cart/checkout' },
    ...over.extra,
  };
}

const auth = (k = key) => `Sentry sentry_version=7, sentry_client=sentry.javascript.node/11.12.0, sentry_key=${k}`;
const envelope = (events: object[], header: object = {}) =>
  [JSON.stringify({ sent_at: new Date().toISOString(), ...header }), ...events.flatMap((e) => [JSON.stringify({ type: 'event' }), JSON.stringify(e)])].join('\n') + '\n';

async function problems(p = project) {
  return db.prisma.errorProblem.findMany({ where: { projectId: p.id }, orderBy: { id: 'asc' }, include: { ticket: true } });
}

describe('the Sentry store and envelope endpoints', () => {
  it('a first event makes a ticket, created by the project service account; the same problem again counts on it', async () => {
    const first = sentryEvent();
    const res = await request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).set('Content-Type', 'application/json').send(JSON.stringify(first)).expect(200);
    expect(res.body).toEqual({ id: first.event_id });
    await intake.flush();
    const [p] = await problems();
    expect(p).toMatchObject({ type: 'TypeError', count: 1n, releases: ['checkout@1.0.0'], environments: ['production'] });
    expect(p!.ticket).toMatchObject({ channel: 'AUTOMATIC', urgency: 'HIGH', status: 'NEW', createdById: project.serviceUserId });
    expect(p!.ticket.title).toContain('TypeError: Cannot read properties');
    const created = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: p!.ticketId, action: 'CREATED' }, include: { actor: true } });
    expect(created.actor?.name).toBe('Checkout app');
    expect(created.actor?.kind).toBe('SERVICE');
    // No "ticket created" mail to the customer for an automatic report.
    expect(await db.prisma.outboundMail.count({ where: { ticketId: p!.ticketId } })).toBe(0);

    // Again (another line number, another message: the same problem), through the store path without a slash, and an envelope, gzipped, key in the query.
    await request(app).post(`/api/${project.id}/store`).set('X-Sentry-Auth', auth()).send(sentryEvent({ line: 99 })).expect(200);
    const body = gzipSync(envelope([sentryEvent({ line: 7, release: 'checkout@1.1.0' })]));
    await request(app).post(`/api/${project.id}/envelope/?sentry_version=7&sentry_key=${key}`).set('Content-Encoding', 'gzip').set('Content-Type', 'application/x-sentry-envelope').send(body).expect(200);
    // The key from the envelope header's DSN alone; deflate and br bodies.
    const dsn = `http://${key}@127.0.0.1/${project.id}`;
    await request(app).post(`/api/${project.id}/envelope/`).set('Content-Encoding', 'deflate').send(deflateSync(envelope([sentryEvent()], { dsn }))).expect(200);
    await request(app).post(`/api/${project.id}/envelope`).set('Content-Encoding', 'br').send(brotliCompressSync(envelope([sentryEvent()], { dsn }))).expect(200);
    await intake.flush();
    const after = await problems();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ count: 5n, releases: ['checkout@1.0.0', 'checkout@1.1.0'] });
    // The ticket row itself was not rewritten per event.
    expect(after[0]!.ticket.version).toBe(p!.ticket.version);
  });

  it('groups by type and the application frames (module, function), or the client fingerprint', async () => {
    const before = (await problems()).length;
    const send = (e: object) => request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(e).expect(200);
    await send(sentryEvent({ fn: 'applyCoupon' })); // another function: another problem
    await send(sentryEvent({ type: 'RangeError' })); // another type: another problem
    await send(sentryEvent({ fingerprint: ['{{ default }}', 'tenant-a'] }));
    await send(sentryEvent({ fingerprint: ['{{ default }}', 'tenant-a'], line: 3 }));
    await send(sentryEvent({ fingerprint: ['payment-gateway-down'], type: 'FetchError' }));
    await send(sentryEvent({ fingerprint: ['payment-gateway-down'], type: 'TimeoutError', fn: 'other' }));
    await intake.flush();
    const all = await problems();
    expect(all.length - before).toBe(4);
    const added = all.slice(before);
    const byType = (type: string) => added.filter((p) => p.type === type).map((p) => Number(p.count)).sort();
    // applyCoupon: its own; RangeError: its own; tenant-a twice (line numbers differ); the gateway fingerprint joins two types.
    expect(byType('TypeError')).toEqual([1, 2]);
    expect(byType('RangeError')).toEqual([1]);
    expect(added.filter((p) => p.type === 'FetchError' || p.type === 'TimeoutError').map((p) => Number(p.count))).toEqual([2]);
  });

  it('keeps only the newest 20 events of a problem, with bounded contents; every event counts', async () => {
    const many = Array.from({ length: 45 }, () =>
      sentryEvent({
        type: 'CapError',
        value: 'x'.repeat(10_000),
        extra: { breadcrumbs: Array.from({ length: 200 }, (_, i) => ({ message: `crumb ${i}`, category: 'c' })), tags: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, 'v'])) },
      }),
    );
    for (let i = 0; i < many.length; i += 15) {
      await Promise.all(many.slice(i, i + 15).map((e) => request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(e).expect(200)));
      await intake.flush();
    }
    const p = (await problems()).find((x) => x.type === 'CapError')!;
    expect(p.count).toBe(45n);
    expect(p.message.length).toBeLessThanOrEqual(1000);
    const events = await db.prisma.errorEvent.findMany({ where: { problemId: p.id }, orderBy: { id: 'asc' } });
    expect(events).toHaveLength(20);
    // The newest are kept (the last 15 were sent at once: any order among them).
    expect(many.slice(-15).map((e) => e.event_id)).toContain(events.at(-1)!.eventId);
    expect(many.slice(0, 15).map((e) => e.event_id)).not.toContain(events[0]!.eventId);
    const data = events[0]!.data as { breadcrumbs: unknown[]; tags: unknown[] };
    expect(data.breadcrumbs).toHaveLength(30);
    expect(data.tags).toHaveLength(40);
    expect(JSON.stringify(data).length).toBeLessThan(20_000);
  });

  it('hostile but readable events are kept safely: lone surrogates, U+0000, deep nesting', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    const body = JSON.stringify(sentryEvent({ type: 'HostileError', value: 'half \ud800 pair \u0000 nul', extra: { tags: { 'k\udc00': 'v\ud83d' } } }))
      .replace('"breadcrumbs":[', `"breadcrumbs":[{"message":"deep","data":${deep}},`);
    await request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).set('Content-Type', 'application/json').send(body).expect(200);
    await intake.flush();
    const p = (await problems()).find((x) => x.type === 'HostileError')!;
    expect(p.count).toBe(1n);
    expect(p.message).toBe('half \ufffd pair  nul');
  });

  it('accepts and ignores envelope items that are not events (sessions, client reports, transactions)', async () => {
    const before = await countRows(db);
    const body = [
      JSON.stringify({ sent_at: new Date().toISOString() }),
      JSON.stringify({ type: 'session' }),
      JSON.stringify({ sid: 'abc', status: 'ok', init: true }),
      JSON.stringify({ type: 'client_report' }),
      JSON.stringify({ timestamp: 1, discarded_events: [] }),
      JSON.stringify({ type: 'attachment', length: 5, filename: 'a.txt' }),
      'hello',
    ].join('\n');
    await request(app).post(`/api/${project.id}/envelope/`).set('X-Sentry-Auth', auth()).send(body).expect(200);
    await intake.flush();
    expect(await countRows(db)).toEqual(before);
  });

  it('refuses bad bodies, zip bombs, and wrong or missing keys with 4xx, writing nothing', async () => {
    const before = await countRows(db);
    const post = (path: string) => request(app).post(`/api/${project.id}/${path}`);
    await post('store/').set('X-Sentry-Auth', auth()).send('{not json').expect(400);
    await post('store/').set('X-Sentry-Auth', auth()).send('[1,2]').expect(400);
    await post('store/').set('X-Sentry-Auth', auth()).send({ level: 'error' }).expect(400); // neither exception nor message
    await post('envelope/').set('X-Sentry-Auth', auth()).send('{"sent_at":1}\n{"type":"event"}\n{broken').expect(400);
    await post('envelope/').set('X-Sentry-Auth', auth()).send('garbage').expect(400);
    await post('store/').set('X-Sentry-Auth', auth()).set('Content-Encoding', 'gzip').send('not gzip at all').expect(400);
    await post('store/').set('X-Sentry-Auth', auth()).set('Content-Encoding', 'compress').send('x').expect(415);
    // 64 MB of zeros gzip to ~64 KB: refused past the decompressed cap, never held whole.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(config.ERROR_REPORTS_MAX_BYTES);
    const refused = await post('envelope/').set('X-Sentry-Auth', auth()).set('Content-Encoding', 'gzip').send(bomb).expect(413);
    expect(refused.body.detail).toMatch(/decompressed/);
    // A raw body past its cap.
    await post('store/').set('X-Sentry-Auth', auth()).set('Content-Type', 'application/json').send(Buffer.alloc(config.ERROR_REPORTS_MAX_BYTES + 10, 32)).expect(413);
    // Keys.
    const e = sentryEvent();
    await post('store/').send(e).expect(401);
    await post('store/').set('X-Sentry-Auth', auth('0'.repeat(32))).send(e).expect(401);
    await post('store/').set('X-Sentry-Auth', auth(other.key)).send(e).expect(403);
    await post('envelope/').send(envelope([e], { dsn: `http://nope@h/${project.id}` })).expect(401);
    // Not a numeric project: not this intake's (the REST API, under /api/v1, answers it).
    const v1 = await request(app).post('/api/v1/store/').set('X-Sentry-Auth', auth()).send(e);
    expect([401, 403, 404]).toContain(v1.status);
    await intake.flush();
    expect(await countRows(db)).toEqual(before);
  });

  it("a project's new customer joins the organization of its address's domain; an existing one is reused", async () => {
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const org = await createOrganization(as(db, admin), { name: 'Acme', domains: ['acme.example'], shareTickets: false });
    const a = await createErrorProject(as(db, admin), { name: 'Acme app', teamId: team.id, urgency: 'LOW', perMinute: null, customerName: 'Acme ops', customerEmail: 'Ops@Acme.example' });
    const customer = await db.prisma.customer.findUniqueOrThrow({ where: { id: a.project.customerId } });
    expect(customer).toMatchObject({ email: 'ops@acme.example', organizationId: org.id });
    const b = await createErrorProject(as(db, admin), { name: 'Acme app 2', teamId: team.id, urgency: 'LOW', perMinute: null, customerName: 'Other name', customerEmail: 'ops@acme.example' });
    expect(b.project.customerId).toBe(a.project.customerId);
  });

  it('a switched-off project is refused (403)', async () => {
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const off = await createErrorProject(as(db, admin), { name: 'Off app', teamId: team.id, urgency: 'LOW', perMinute: null, customerName: 'Off', customerEmail: 'off@shop.example' });
    await updateErrorProject(as(db, admin), off.project.id, off.project.version, { name: 'Off app', teamId: team.id, urgency: 'LOW', perMinute: null, active: false });
    const res = await request(app).post(`/api/${off.project.id}/store/`).set('X-Sentry-Auth', auth(off.key)).send(sentryEvent()).expect(403);
    expect(res.body.detail).toMatch(/switched off/);
  });

  it('throttles per project key, across instances (a PostgreSQL counter): 429 with Retry-After and X-Sentry-Rate-Limits', async () => {
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const slow = await createErrorProject(as(db, admin), { name: 'Chatty app', teamId: team.id, urgency: 'LOW', perMinute: 3, customerName: 'Chatty', customerEmail: 'chatty@shop.example' });
    // Two app instances, one database.
    const second = appWith(new ErrorIntake(db.prisma, { flushMs: 0, perMinute: 100_000 }));
    const send = (a: Express) => request(a).post(`/api/${slow.project.id}/store/`).set('X-Sentry-Auth', auth(slow.key)).send(sentryEvent());
    const statuses = [(await send(app)).status, (await send(second)).status, (await send(app)).status];
    // The window may turn over between requests (a new minute): then all pass; retry once.
    const fourth = await send(second);
    if (statuses.every((s) => s === 200) && fourth.status === 200) {
      const again = await Promise.all([send(app), send(second), send(app), send(second)]);
      expect(again.map((r) => r.status)).toContain(429);
      return;
    }
    expect(statuses).toEqual([200, 200, 200]);
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(fourth.headers['x-sentry-rate-limits']).toMatch(/^\d+::key$/);
  });
});

describe('the throttle in blocks', () => {
  it('three instances spend a shared allowance in blocks: never past the limit, short of it by at most a block each', async () => {
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const { project: p } = await createErrorProject(as(db, admin), { name: 'Block app', teamId: team.id, urgency: 'LOW', perMinute: 1000, customerName: 'B', customerEmail: 'block@shop.example' });
    const instances = [new KeyThrottle(db.prisma, 1), new KeyThrottle(db.prisma, 1), new KeyThrottle(db.prisma, 1)];
    const results = await Promise.all(Array.from({ length: 1200 }, (_, i) => instances[i % 3]!.take(p, 1)));
    const allowed = results.filter((r) => r.allowed).length;
    const windows = await db.prisma.errorRateWindow.findMany({ where: { projectId: p.id } });
    // 1% of the limit per reservation: ~100 statements for 1,200 requests, not 1,200.
    expect(windows.reduce((n, w) => n + w.count, 0)).toBeLessThanOrEqual(1200 + 30);
    if (windows.length === 1) {
      expect(allowed).toBeLessThanOrEqual(1000);
      expect(allowed).toBeGreaterThanOrEqual(1000 - 3 * 10);
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfter >= 1 && r.retryAfter <= 60)).toBe(true);
    }
  });
});

describe('the JSON endpoint', () => {
  it('takes a small documented body and answers 202 with the ticket', async () => {
    const res = await request(app)
      .post(`/api/${project.id}/events`)
      .set('Authorization', `Bearer ${key}`)
      .send({ type: 'DiskFull', message: 'No space left on /var', stacktrace: [{ module: 'backup', function: 'rotate', file: 'backup.py', line: 10 }], release: '2.0.0', tags: { host: 'db1' } })
      .expect(202);
    expect(res.body).toMatchObject({ created: true, ticket: expect.stringMatching(/^CB-/) });
    const again = await request(app).post(`/api/${project.id}/events`).set('Authorization', `Bearer ${key}`).send({ type: 'DiskFull', message: 'other text', stacktrace: [{ module: 'backup', function: 'rotate', line: 99 }] }).expect(202);
    expect(again.body).toMatchObject({ created: false, ticket: res.body.ticket, problemId: res.body.problemId });
  });

  it('bad input: 4xx problem+json with the fields, nothing written', async () => {
    const before = await countRows(db);
    const bad = await request(app).post(`/api/${project.id}/events`).set('Authorization', `Bearer ${key}`).send({ message: 'no type', extra: 1 }).expect(422);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(bad.text).errors).toHaveProperty('type');
    await request(app).post(`/api/${project.id}/events`).set('Authorization', `Bearer ${key}`).set('Content-Type', 'application/json').send('{').expect(400);
    await request(app).post(`/api/${project.id}/events`).set('Authorization', 'Bearer nope').send({ type: 'X' }).expect(401);
    expect(await countRows(db)).toEqual(before);
  });
});

describe('regressions', () => {
  it('a resolved problem reopens when seen in its fixed release or later, as the service account; older releases only count', async () => {
    const send = (release: string) =>
      request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(sentryEvent({ type: 'RegressionError', release })).expect(200);
    await send('shop@1.2.0');
    await send('shop@1.10.0');
    await intake.flush();
    let p = (await problems()).find((x) => x.type === 'RegressionError')!;
    await resolveTicket(as(db, admin), { reference: p.ticket.reference, version: p.ticket.version }, { code: 'FIXED', note: 'Deployed the fix.' });
    p = (await problems()).find((x) => x.type === 'RegressionError')!;
    // The newest seen by semver (1.10.0 > 1.2.0), not the last string.
    expect(p.fixedInRelease).toBe('shop@1.10.0');

    await send('shop@1.9.3');
    await intake.flush();
    p = (await problems()).find((x) => x.type === 'RegressionError')!;
    expect(p.ticket.status).toBe('RESOLVED');
    expect(p.count).toBe(3n);

    // Two instances see the problem back at once: one reopening.
    const other1 = new ErrorIntake(db.prisma, { flushMs: 60_000, perMinute: 100_000 });
    const other2 = new ErrorIntake(db.prisma, { flushMs: 60_000, perMinute: 100_000 });
    other1.accept(project, fromSentryEvent(sentryEvent({ type: 'RegressionError', release: 'shop@1.10.0' })));
    other2.accept(project, fromSentryEvent(sentryEvent({ type: 'RegressionError', release: 'shop@2.0.0' })));
    await Promise.all([other1.flush(), other2.flush()]);
    p = (await problems()).find((x) => x.type === 'RegressionError')!;
    expect(p.ticket.status).toBe('OPEN');
    expect(p.count).toBe(5n);
    const reopenings = await db.prisma.ticketHistory.findMany({ where: { ticketId: p.ticketId, field: 'status', newValue: 'OPEN' }, include: { actor: true } });
    expect(reopenings).toHaveLength(1);
    expect(reopenings[0]!.actor?.name).toBe('Checkout app');
    const note = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: p.ticketId, kind: 'NOTE' }, orderBy: { id: 'desc' } });
    expect(note.body).toMatch(/^Reopened: Seen again in release shop@(1\.10\.0|2\.0\.0) \(event [0-9a-f]{32}\)\.$/);
    expect(note.authorId).toBe(project.serviceUserId);
  });

  it('a release set by hand on the ticket page is kept at resolution; reopening forgets it', async () => {
    const send = (release: string) =>
      request(app).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(sentryEvent({ type: 'HandFixError', release })).expect(200);
    await send('9.0.0');
    await intake.flush();
    let p = (await problems()).find((x) => x.type === 'HandFixError')!;
    const { agent, csrf } = await signIn(app, admin.email);
    // A bad value: 422, nothing written.
    const before = await countRows(db);
    await agent.post(`/tickets/${p.ticket.reference}/fixed-in`).type('form').send({ _csrf: csrf, release: '   ' }).expect(422);
    expect(await countRows(db)).toEqual(before);
    await agent.post(`/tickets/${p.ticket.reference}/fixed-in`).type('form').send({ _csrf: csrf, release: '9.2.0' }).expect(303);
    p = (await problems()).find((x) => x.type === 'HandFixError')!;
    await resolveTicket(as(db, admin), { reference: p.ticket.reference, version: p.ticket.version }, { code: 'FIXED', note: 'Fixed in 9.2.0.' });
    expect((await problems()).find((x) => x.type === 'HandFixError')!.fixedInRelease).toBe('9.2.0');
    await send('9.1.5');
    await intake.flush();
    expect((await problems()).find((x) => x.type === 'HandFixError')!.ticket.status).toBe('RESOLVED');
    await send('9.2.0');
    await intake.flush();
    p = (await problems()).find((x) => x.type === 'HandFixError')!;
    expect(p.ticket.status).toBe('OPEN');
    expect(p.fixedInRelease).toBeNull();
    const page = await agent.get(`/tickets/${p.ticket.reference}`).expect(200);
    expect(page.text).toContain('Error reports: fixed in release 9.2.0');
  });

  it('a full buffer refuses with 503 and Retry-After, never a silent drop', async () => {
    const tiny = new ErrorIntake(db.prisma, { flushMs: 60_000, perMinute: 100_000, maxPending: 1 });
    const small = appWith(tiny);
    await request(small).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(sentryEvent({ type: 'FirstOfTwo' })).expect(200);
    const busy = await request(small).post(`/api/${project.id}/store/`).set('X-Sentry-Auth', auth()).send(sentryEvent({ type: 'SecondOfTwo' })).expect(503);
    expect(busy.headers['retry-after']).toBe('1');
    await tiny.stop();
    expect((await problems()).map((p) => p.type)).toContain('FirstOfTwo');
    expect((await problems()).map((p) => p.type)).not.toContain('SecondOfTwo');
  });

  it('a storm of 10,000 events of one problem on two instances: one ticket, the count exact, 20 events kept', async () => {
    const a = new ErrorIntake(db.prisma, { flushMs: 25, perMinute: 100_000 });
    const b = new ErrorIntake(db.prisma, { flushMs: 25, perMinute: 100_000 });
    for (let i = 0; i < 10_000; i++) {
      (i % 2 ? a : b).accept(project, fromSentryEvent(sentryEvent({ type: 'StormError', line: i % 50 })));
      // As requests arrive: the timers flush meanwhile.
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all([a.stop(), b.stop()]);
    const storm = (await problems()).filter((x) => x.type === 'StormError');
    expect(storm).toHaveLength(1);
    expect(storm[0]!.count).toBe(10_000n);
    expect(await db.prisma.errorEvent.count({ where: { problemId: storm[0]!.id } })).toBe(20);
    // The ticket row was never rewritten by the storm.
    expect(storm[0]!.ticket.version).toBe(1);
  });

  it('counts are never lost when several instances write one problem at once', async () => {
    const instances = Array.from({ length: 3 }, () => new ErrorIntake(db.prisma, { flushMs: 60_000, perMinute: 100_000 }));
    for (let i = 0; i < 600; i++) instances[i % 3]!.accept(project, fromSentryEvent(sentryEvent({ type: 'ConcurrentError' })));
    // A new problem's first events on three instances at once: one ticket, every event counted in
    // this round (no batch failed on the unique fingerprint and waited to be retried).
    const outcomes = await Promise.allSettled(instances.map((x) => x.flush()));
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    const first = (await problems()).filter((x) => x.type === 'ConcurrentError');
    expect(first.map((p) => p.count)).toEqual([600n]);
    for (let i = 0; i < 300; i++) instances[i % 3]!.accept(project, fromSentryEvent(sentryEvent({ type: 'ConcurrentError' })));
    await Promise.all(instances.map((x) => x.flush()));
    const found = (await problems()).filter((x) => x.type === 'ConcurrentError');
    expect(found).toHaveLength(1);
    expect(found[0]!.count).toBe(900n);
  });
});

describe('pages', () => {
  it('admins create a project (the DSN shown once), technicians read its problems; the ticket shows its Error reports panel, escaped', async () => {
    const { agent, csrf } = await signIn(app, admin.email);
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const created = await agent
      .post('/errors')
      .type('form')
      .send({ _csrf: csrf, name: 'Billing <b>app</b>', teamId: String(team.id), urgency: 'NORMAL', perMinute: '', customerName: 'Billing', customerEmail: 'billing@shop.example' })
      .expect(303)
      .expect('Location', /^\/errors\/\d+\/key$/)
      .then((r) => agent.get(r.headers.location!).expect(200));
    const dsn = /value="(http:\/\/[0-9a-f]{32}@[^"]+\/(\d+))"/.exec(created.text);
    expect(dsn).not.toBeNull();
    expect(created.text).toContain('Billing &lt;b&gt;app&lt;/b&gt;');
    expect(created.headers['cache-control']).toBe('no-store');
    // A bad form: 422, nothing written.
    const before = await countRows(db);
    await agent.post('/errors').type('form').send({ _csrf: csrf, name: '', teamId: String(team.id), urgency: 'NORMAL', customerName: 'B', customerEmail: 'not-an-address' }).expect(422);
    expect(await countRows(db)).toEqual(before);

    // The DSN works, and an XSS attempt in the event is shown as text.
    const [, , id] = dsn!;
    // Shown once: a reload shows it no more (and creates nothing).
    const projects = await db.prisma.errorProject.count();
    const reload = await agent.get(`/errors/${id}/key`).expect(200);
    expect(reload.text).not.toMatch(/[0-9a-f]{32}@/);
    expect(reload.text).toContain('was shown once');
    expect(await db.prisma.errorProject.count()).toBe(projects);
    const k = /\/\/([0-9a-f]{32})@/.exec(dsn![1]!)![1]!;
    await request(app)
      .post(`/api/${id}/store/`)
      .set('X-Sentry-Auth', auth(k))
      .send(sentryEvent({ type: 'XssError', value: '<script>alert(1)</script>', extra: { tags: { '<img src=x onerror=alert(1)>': 'v' } } }))
      .expect(200);
    await intake.flush();
    const tech = await buildUser(db, { name: 'Tina Tech' });
    const t = await signIn(app, tech.email);
    const page = await t.agent.get(`/errors/${id}`).expect(200);
    expect(page.text).toContain('XssError');
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).not.toContain('Roll the key');
    const reference = /href="\/tickets\/(CB-[0-9A-Z]+)"/.exec(page.text)![1]!;
    const ticket = await t.agent.get(`/tickets/${reference}`).expect(200);
    expect(ticket.text).toContain('Error reports');
    expect(ticket.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(ticket.text).not.toContain('<img src=x');
    expect(ticket.text).toContain('Billing &lt;b&gt;app&lt;/b&gt;');
    expect(ticket.text).toContain('buyer@example.com');

    // Rolling the key: the old DSN stops working.
    const show = await agent.get(`/errors/${id}`).expect(200);
    expect((await agent.get(`/errors/${id}/key`).expect(200)).text).not.toMatch(/[0-9a-f]{32}@/);
    const rolled = await agent
      .post(`/errors/${id}/key`)
      .type('form')
      .send({ _csrf: csrfOf(show.text) })
      .expect(303)
      .then((r) => agent.get(r.headers.location!).expect(200));
    expect(rolled.text).toContain('The previous key no longer works');
    expect(rolled.text).toMatch(/[0-9a-f]{32}@/);
    await request(app).post(`/api/${id}/store/`).set('X-Sentry-Auth', auth(k)).send(sentryEvent()).expect(401);
    const history = await db.prisma.errorProjectHistory.findMany({ where: { projectId: Number(id) }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.action, h.field])).toEqual([['CREATED', null], ['CHANGED', 'key']]);
  });
});

describe('retention', () => {
  it('deletes kept events past the retention, in batches; the counters stay', async () => {
    const { pruneErrorEvents } = await import('../../src/services/errors/retention.js');
    const p = (await problems())[0]!;
    const kept = await db.prisma.errorEvent.count({ where: { problemId: p.id } });
    expect(kept).toBeGreaterThan(0);
    await db.pool.query(`UPDATE "ErrorEvent" SET "receivedAt" = now() - interval '40 days' WHERE "problemId" = $1`, [p.id]);
    const deleted = await pruneErrorEvents(db.prisma, 30);
    expect(deleted).toBe(kept);
    expect(await db.prisma.errorEvent.count({ where: { problemId: p.id } })).toBe(0);
    expect((await db.prisma.errorProblem.findUniqueOrThrow({ where: { id: p.id } })).count).toBe(p.count);
  });
});
