// The REST API's tickets: bearer tokens only, the same services (and history rows) as the pages,
// If-Match on changes, Idempotency-Key on creates, problem+json for every refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testApp, signIn } from '../helpers/http.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { revokeToken } from '../../src/services/api/tokens.js';
import { setUserActive } from '../../src/services/users/manage-users.js';
import { as } from '../helpers/factories.js';
import { api, newTicketBody, personalToken } from '../helpers/api.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Ann Lee' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  token = await personalToken(db, tech);
});
afterAll(() => db?.close());

const problemOf = (res: { status: number; headers: Record<string, string>; body: unknown }) => {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return res.body as { status: number; detail: string; errors?: { field: string; message: string }[]; current?: { version: number } };
};

describe('authentication', () => {
  it('refuses requests without a bearer token, and ignores session cookies', async () => {
    const res = await api(app, null).get('/tickets');
    expect(res.status).toBe(401);
    expect(problemOf(res).status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    // A signed-in browser's cookies do not authenticate the API.
    const { agent } = await signIn(app, tech.email);
    const viaCookie = await agent.get('/api/v1/tickets');
    expect(viaCookie.status).toBe(401);
    const before = await countRows(db);
    const forged = await agent.post('/api/v1/tickets').type('form').send({ title: 'x' });
    expect(forged.status).toBe(401);
    expect(await countRows(db)).toEqual(before);
  });

  it('refuses revoked, expired and unknown tokens; no CORS headers', async () => {
    const t = await personalToken(db, tech);
    expect((await api(app, t).get('/tickets')).status).toBe(200);
    const row = await db.prisma.apiToken.findFirstOrThrow({ orderBy: { id: 'desc' } });
    await revokeToken(as(db, tech), row.id);
    expect((await api(app, t).get('/tickets')).status).toBe(401);
    const e = await personalToken(db, tech);
    await db.pool.query(`UPDATE "ApiToken" SET "expiresAt" = now() - interval '1 second' WHERE id = (SELECT max(id) FROM "ApiToken")`);
    expect((await api(app, e).get('/tickets')).status).toBe(401);
    expect((await api(app, 'cbt_' + 'x'.repeat(43)).get('/tickets')).status).toBe(401);
    const ok = await api(app, token).get('/tickets').set('Origin', 'https://evil.example');
    expect(Object.keys(ok.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('checks the scope per route (403) and the user’s own permission', async () => {
    const readOnly = await personalToken(db, tech, ['tickets:read']);
    const before = await countRows(db);
    const res = await api(app, readOnly).post('/tickets', newTicketBody('scope'));
    expect(res.status).toBe(403);
    expect(problemOf(res).detail).toContain('tickets:write');
    expect(await countRows(db)).toEqual(before);
    // A technician's token cannot have users:manage; an admin's can, and the service still decides.
    const adminToken = await personalToken(db, admin);
    expect((await api(app, adminToken).get('/users')).status).toBe(200);
  });

  it("stops a deactivated user's tokens at once", async () => {
    const leaver = await buildUser(db, { name: 'Lee Leaver' });
    const t = await personalToken(db, leaver);
    await api(app, t).get('/tickets').expect(200);
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id: leaver.id } });
    await setUserActive(as(db, admin), leaver.id, row.version, false);
    expect((await api(app, t).get('/tickets')).status).toBe(401);
  });

  it('records the last use at most once a minute', async () => {
    const t = await personalToken(db, tech);
    const id = (await db.prisma.apiToken.findFirstOrThrow({ orderBy: { id: 'desc' } })).id;
    await api(app, t).get('/tickets').expect(200);
    const first = (await db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt;
    expect(first).not.toBeNull();
    await api(app, t).get('/tickets').expect(200);
    expect((await db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt).toEqual(first);
  });
});

describe('tickets', () => {
  it('creates, reads, and changes a ticket with If-Match; history names the token', async () => {
    const created = await api(app, token).post('/tickets', newTicketBody(1)).expect(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.headers.location).toBe(`/api/v1/tickets/${created.body.reference}`);
    expect(created.body).toMatchObject({ status: 'NEW', urgency: 'NORMAL', channel: 'API', version: 1 });
    const ref = created.body.reference as string;

    const got = await api(app, token).get(`/tickets/${ref}`).expect(200);
    expect(got.headers.etag).toBe('"1"');

    // No If-Match: 428; a stale one: 412 with the current ticket; nothing written either way.
    const before = await countRows(db);
    const missing = await api(app, token).post(`/tickets/${ref}/urgency`, { urgency: 'HIGH' });
    expect(missing.status).toBe(428);
    problemOf(missing);
    const took = await api(app, token).post(`/tickets/${ref}/take`).set('If-Match', '"1"').expect(200);
    expect(took.body).toMatchObject({ status: 'OPEN', assigneeId: tech.id, version: 2 });
    const mid = await countRows(db);
    expect(mid.TicketHistory!).toBeGreaterThan(before.TicketHistory!);
    const stale = await api(app, token).post(`/tickets/${ref}/urgency`, { urgency: 'HIGH' }).set('If-Match', '"1"');
    expect(stale.status).toBe(412);
    expect(problemOf(stale).current).toMatchObject({ reference: ref, version: 2, urgency: 'NORMAL' });
    expect(stale.headers.etag).toBe('"2"');
    expect(await countRows(db)).toEqual(mid);

    const urgent = await api(app, token).post(`/tickets/${ref}/urgency`, { urgency: 'HIGH' }).set('If-Match', '"2"').expect(200);
    expect(urgent.headers.etag).toBe('"3"');
    const patched = await api(app, token).patch(`/tickets/${ref}`, { title: 'Printer offline (2nd floor)' }).set('If-Match', '"3"').expect(200);
    expect(patched.body.title).toBe('Printer offline (2nd floor)');

    const tokenId = (await db.prisma.apiToken.findFirstOrThrow({ where: { userId: tech.id }, orderBy: { id: 'asc' } })).id;
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticket: { reference: ref } } });
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const r of rows) expect(r).toMatchObject({ actorId: tech.id, apiTokenId: tokenId });
  });

  it('work log: add a note and an attempted fix, list them', async () => {
    const ref = (await api(app, token).post('/tickets', newTicketBody(2)).expect(201)).body.reference as string;
    const note = await api(app, token).post(`/tickets/${ref}/worklog`, { kind: 'NOTE', body: 'Checked the cable.' }).expect(201);
    expect(note.body).toMatchObject({ kind: 'NOTE', author: { id: tech.id, name: 'Ann Lee' } });
    expect(note.body.apiTokenId).toBeGreaterThan(0);
    const bad = await api(app, token).post(`/tickets/${ref}/worklog`, { kind: 'ATTEMPTED_FIX', body: 'Restarted it.' });
    expect(bad.status).toBe(422);
    await api(app, token).post(`/tickets/${ref}/worklog`, { kind: 'ATTEMPTED_FIX', body: 'Restarted it.', outcome: 'FAILED' }).expect(201);
    const list = await api(app, token).get(`/tickets/${ref}/worklog`).expect(200);
    expect(list.body.items.map((e: { kind: string }) => e.kind)).toEqual(['NOTE', 'ATTEMPTED_FIX']);
  });

  it('lists the queue with keyset pagination', async () => {
    for (let i = 0; i < 55; i++) await buildTicket(db, tech, { title: `Paged ticket ${i}`, customer: { name: 'Pat Page', email: `pat-${i}@customer.test` } });
    const seen: string[] = [];
    let after: string | null = '';
    let pages = 0;
    while (after !== null && pages++ < 10) {
      const res: request.Response = await api(app, token).get(`/tickets?status=all&sort=age${after ? `&after=${encodeURIComponent(after)}` : ''}`).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(50);
      seen.push(...res.body.items.map((t: { reference: string }) => t.reference));
      after = res.body.nextCursor;
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(await db.prisma.ticket.count());
    const bad = await api(app, token).get('/tickets?after=nonsense');
    expect(bad.status).toBe(422);
    expect(problemOf(bad).errors?.[0]?.field).toBe('after');
  });
});

describe('bad input: problem+json 4xx, nothing written', () => {
  const cases: [string, (t: string) => request.Test, number][] = [
    ['invalid JSON', (t) => request(app).post('/api/v1/tickets').set('Authorization', `Bearer ${t}`).type('json').send('{"title":'), 400],
    ['a form body', (t) => request(app).post('/api/v1/tickets').set('Authorization', `Bearer ${t}`).type('form').send({ title: 'x' }), 415],
    ['missing fields', (t) => api(app, t).post('/tickets', { title: 'Only a title' }), 422],
    ['unknown fields', (t) => api(app, t).post('/tickets', { ...newTicketBody('u'), admin: true }), 422],
    ['a bad email', (t) => api(app, t).post('/tickets', { ...newTicketBody('e'), customer: { name: 'A', email: 'not-an-email' } }), 422],
    ['U+0000 in a text', (t) => api(app, t).post('/tickets', { ...newTicketBody('n'), title: 'a\u0000b' }), 400],
    ['a body too large', (t) => api(app, t).post('/tickets', { ...newTicketBody('l'), description: 'x'.repeat(300_000) }), 413],
    ['deeply nested JSON', (t) => request(app).post('/api/v1/tickets').set('Authorization', `Bearer ${t}`).type('json').send('['.repeat(60_000) + ']'.repeat(60_000)), 400],
    ['JSON nested in a field', (t) => request(app).post('/api/v1/tickets').set('Authorization', `Bearer ${t}`).type('json').send('{"title":' + '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_001)), 400],
    ['a JSON array', (t) => request(app).post('/api/v1/tickets').set('Authorization', `Bearer ${t}`).type('json').send('[1,2]'), 422],
    ['a repeated query parameter', (t) => api(app, t).get('/tickets?status=NEW&status=OPEN'), 422],
    ['an unknown ticket', (t) => api(app, t).post('/tickets/CB-ZZZZZZ/take').set('If-Match', '"1"'), 404],
    ['a bad If-Match', (t) => api(app, t).post('/tickets/CB-ZZZZZZ/take').set('If-Match', 'seven'), 400],
  ];
  it.each(cases)('%s', async (_what, send, status) => {
    const before = await countRows(db);
    const res = await send(token);
    expect(res.status).toBe(status);
    expect(problemOf(res).status).toBe(status);
    expect(await countRows(db)).toEqual(before);
  });

  it('field errors name the fields', async () => {
    const res = await api(app, token).post('/tickets', { title: '', urgency: 'SOMETIMES', customer: {} });
    const fields = problemOf(res).errors!.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['title', 'description', 'urgency', 'customer.name', 'customer.email']));
  });
});

describe('Idempotency-Key', () => {
  it('a retry creates nothing twice; the same key with another body is 422', async () => {
    const body = newTicketBody('idem');
    const first = await api(app, token).post('/tickets', body).set('Idempotency-Key', 'key-1').expect(201);
    const before = await countRows(db);
    const again = await api(app, token).post('/tickets', body).set('Idempotency-Key', 'key-1').expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await countRows(db)).toEqual(before);
    const other = await api(app, token).post('/tickets', { ...body, title: 'Another' }).set('Idempotency-Key', 'key-1');
    expect(other.status).toBe(422);
    problemOf(other);
    expect(await countRows(db)).toEqual(before);
  });

  it('a work-log entry retried with its key is added once', async () => {
    const ref = (await api(app, token).post('/tickets', newTicketBody('idem-log')).expect(201)).body.reference as string;
    const note = { kind: 'NOTE', body: 'Called the customer back.' };
    const first = await api(app, token).post(`/tickets/${ref}/worklog`, note).set('Idempotency-Key', 'note-1').expect(201);
    const again = await api(app, token).post(`/tickets/${ref}/worklog`, note).set('Idempotency-Key', 'note-1').expect(201);
    expect(again.body).toEqual(first.body);
    expect(await db.prisma.workLogEntry.count({ where: { ticket: { reference: ref } } })).toBe(1);
  });

  it('two concurrent retries create one ticket', async () => {
    const body = newTicketBody('race');
    const before = await db.prisma.ticket.count();
    const [a, b] = await Promise.all([
      api(app, token).post('/tickets', body).set('Idempotency-Key', 'race-1'),
      api(app, token).post('/tickets', body).set('Idempotency-Key', 'race-1'),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.reference).toBe(b.body.reference);
    expect(await db.prisma.ticket.count()).toBe(before + 1);
  });
});

describe('rate limit', () => {
  it('counts per token in PostgreSQL with RateLimit-* headers, then 429', async () => {
    const limited = testApp(db, { API_RATE_LIMIT: '3' });
    const t = await personalToken(db, tech);
    const r1 = await api(limited, t).get('/tickets').expect(200);
    expect(r1.headers['ratelimit-limit']).toBe('3');
    expect(r1.headers['ratelimit-remaining']).toBe('2');
    await api(limited, t).get('/tickets').expect(200);
    // Another app (another instance) shares the counter.
    const other = testApp(db, { API_RATE_LIMIT: '3' });
    await api(other, t).get('/tickets').expect(200);
    const over = await api(limited, t).get('/tickets');
    expect(over.status).toBe(429);
    problemOf(over);
    // Another token has its own budget.
    await api(limited, await personalToken(db, tech)).get('/tickets').expect(200);
  });
});

describe('cleanup job', () => {
  it('deletes idempotency keys older than 24 hours, and spent rate-limit windows', async () => {
    const { cleanUpApi } = await import('../../src/jobs/api-cleanup.js');
    await api(app, token).post('/tickets', newTicketBody('old-key')).set('Idempotency-Key', 'old-key').expect(201);
    await api(app, token).post('/tickets', newTicketBody('new-key')).set('Idempotency-Key', 'new-key').expect(201);
    await db.pool.query(`UPDATE "ApiIdempotencyKey" SET "createdAt" = now() - interval '25 hours' WHERE key = 'old-key'`);
    await db.pool.query(`INSERT INTO "ApiRateLimit" (key, hits, "resetAt") VALUES ('api:spent', 3, now() - interval '2 hours')`);
    const done = await cleanUpApi(db.prisma, db.pool);
    expect(done.keys).toBeGreaterThanOrEqual(1);
    expect(done.windows).toBeGreaterThanOrEqual(1);
    const { rows } = await db.pool.query(`SELECT key FROM "ApiIdempotencyKey" WHERE key IN ('old-key', 'new-key')`);
    expect(rows.map((r) => r.key)).toEqual(['new-key']);
    // The old key is free again: the same request creates a new ticket.
    const again = await api(app, token).post('/tickets', newTicketBody('old-key')).set('Idempotency-Key', 'old-key').expect(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('customers, organizations, articles, users', () => {
  it('a customer is read and replaced with If-Match; a stale version is 412 with the current record', async () => {
    const ref = (await api(app, token).post('/tickets', newTicketBody('cust')).expect(201)).body.reference as string;
    const t = await db.prisma.ticket.findUniqueOrThrow({ where: { reference: ref } });
    const got = await api(app, token).get(`/customers/${t.customerId}`).expect(200);
    expect(got.headers.etag).toBe(`"${got.body.version}"`);
    const v = got.body.version as number;
    const renamed = await api(app, token).put(`/customers/${t.customerId}`, { name: 'Ann Renamed', email: got.body.email }).set('If-Match', `"${v}"`).expect(200);
    expect(renamed.body).toMatchObject({ name: 'Ann Renamed', version: v + 1 });
    const before = await countRows(db);
    const stale = await api(app, token).put(`/customers/${t.customerId}`, { name: 'Ann Again', email: got.body.email }).set('If-Match', `"${v}"`);
    expect(stale.status).toBe(412);
    expect(problemOf(stale).current).toMatchObject({ name: 'Ann Renamed', version: v + 1 });
    expect(await countRows(db)).toEqual(before);
    const list = await api(app, token).get('/customers?q=Renamed').expect(200);
    expect(list.body.items.map((c: { id: number }) => c.id)).toContain(t.customerId);
    expect((await api(app, token).get('/customers?after=garbage')).status).toBe(422);
  });

  it('organizations and articles are read; a technician cannot list users', async () => {
    expect((await api(app, token).get('/organizations')).status).toBe(200);
    const articles = await api(app, token).get('/articles?q=printer').expect(200);
    expect(Array.isArray(articles.body.items)).toBe(true);
    expect((await api(app, token).get('/articles/999999')).status).toBe(404);
    expect((await api(app, token).get('/users')).status).toBe(403);
  });
});
