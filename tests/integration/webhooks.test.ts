// Signed webhooks: deliveries written in the change's transaction, sent signed to a real HTTP
// receiver on loopback (allowed explicitly: AUTOMATION_ALLOW_PRIVATE=1 for this app), retried with
// backoff (WEBHOOK_RETRY_BASE_MS=100: "down for a minute" is simulated with a shorter clock),
// sent again, SSRF refused at save and at send, bad input refused with nothing written.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import { loadConfig } from '../../src/config/env.js';
import type { Actor } from '../../src/services/context.js';
import { configureOutgoing, SIGNATURE_HEADER } from '../../src/services/outgoing/signed-request.js';
import { createEndpoint, deleteEndpoint, updateEndpoint } from '../../src/services/webhooks/endpoints.js';
import { deliverWebhook, sweepWebhookDeliveries } from '../../src/services/webhooks/deliver.js';
import { startWebhookWorker } from '../../src/jobs/webhook-worker.js';
import type { JobRunner } from '../../src/jobs/queue.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { assignTicket } from '../../src/services/tickets/assign-ticket.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../src/services/tickets/reopen-ticket.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { changeTicket } from '../../src/services/tickets/history.js';
import { settleTicketEvents, ticketEventsActive, ticketTransaction } from '../../src/services/tickets/events.js';
import type { WebhookEvent } from '../../src/services/webhooks/events.js';
import { addCustomerReply } from '../../src/services/public/customer-ticket.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';

/** The receiver's check as the README shows it (an independent implementation of the scheme). */
function readmeVerify(secret: string, rawBody: string, header: string, toleranceSeconds = 300) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('='))) as Record<string, string | undefined>;
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(expected, given);
}

interface Got {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver: records each request; `answers` says what to reply, in turn. */
async function startReceiver(port = 0) {
  const got: Got[] = [];
  const state = { answers: [] as number[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = state.answers.shift() ?? 200;
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'thanks' : 'receiver broken');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    got,
    state,
    port: bound,
    url: (path: string) => `http://127.0.0.1:${bound}${path}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const runners: JobRunner[] = [];
let n = 0;
const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}`;
const ENV = { AUTOMATION_ALLOW_PRIVATE: '1', AUTOMATION_TIMEOUT_MS: '2000', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_MAX_ATTEMPTS: '8' };

async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An endpoint of the test's own (its own path on the receiver). */
async function endpoint(events: WebhookEvent[], url = receiver.url(`/hook/${unique()}`)) {
  const { endpoint: e, secret } = await createEndpoint(as(db, admin), { url, description: 'test', events, active: true });
  return { ...e, secret, path: new URL(url).pathname };
}

const deliveriesOf = (endpointId: number) => db.prisma.webhookDelivery.findMany({ where: { endpointId }, orderBy: { id: 'asc' } });

beforeAll(async () => {
  db = await createTestDatabase();
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  receiver = await startReceiver();
  app = testApp(db, ENV);
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  configureOutgoing({ allowPrivate: true, timeoutMs: 2000 });
  // Each test's endpoints end with it: the next test's changes go to its own.
  const left = await db.prisma.webhookEndpoint.findMany({ where: { deletedAt: null } });
  for (const e of left) await deleteEndpoint(as(db, admin), e.id);
});
afterAll(async () => {
  await receiver.close();
  await db.close();
});

describe('deliveries follow ticket changes', () => {
  it('a change delivers a signed POST that verifies with the secret; events not subscribed are not sent', async () => {
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated', 'ticket.assigned', 'ticket.resolved']);
    const changed = await changeUrgency(as(db, tech), { reference: t.reference, version: t.version }, 'HIGH');
    await assignTicket(as(db, tech), { reference: t.reference, version: changed.version }, tech.id);
    // An internal note: entry.added, which this endpoint does not subscribe to.
    await addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'Checked the toner.' });
    const rows = await deliveriesOf(e.id);
    expect(rows.map((r) => r.eventType)).toEqual(['ticket.updated', 'ticket.updated', 'ticket.assigned']);
    // The same event for both types of one change has distinct ids; every delivery is queued as a job.
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(3);
    const jobs = await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook_delivery' AND (data->>'deliveryId')::int = ANY($1)`, [rows.map((r) => r.id)]);
    expect(jobs.rows[0].n).toBe(3);

    for (const r of rows) expect(await deliverWebhook(db, r.id)).toBe('succeeded');
    const got = receiver.got.filter((g) => g.path === e.path);
    expect(got).toHaveLength(3);
    for (const [i, g] of got.entries()) {
      expect(readmeVerify(e.secret, g.body, String(g.headers[SIGNATURE_HEADER.toLowerCase()]))).toBe(true);
      expect(readmeVerify('another-secret', g.body, String(g.headers[SIGNATURE_HEADER.toLowerCase()]))).toBe(false);
      const body = JSON.parse(g.body);
      expect(g.headers['caseboard-event-id']).toBe(body.id);
      expect(g.headers['caseboard-event-id']).toBe(rows[i]!.eventId);
      expect(g.headers['caseboard-event']).toBe(body.type);
      expect(g.headers['caseboard-delivery']).toBe(String(rows[i]!.id));
      expect(g.headers['content-type']).toMatch(/application\/json/);
    }
    const first = JSON.parse(got[0]!.body);
    expect(first).toMatchObject({
      type: 'ticket.updated',
      ticket: { reference: t.reference, title: t.title, customer: { name: 'Dana Customer' } },
      changes: [{ field: 'urgency', from: 'NORMAL', to: 'HIGH' }],
      actor: { type: 'user', name: 'Tom Tech' },
    });
    const assigned = JSON.parse(got[2]!.body);
    expect(assigned).toMatchObject({ type: 'ticket.assigned', ticket: { owner: { name: 'Tom Tech' } }, changes: expect.arrayContaining([{ field: 'assigneeId', from: null, to: tech.id }]) });
    // Recorded: state, status, one attempt each with its duration and the start of the answer.
    const after = await deliveriesOf(e.id);
    expect(after.map((r) => [r.state, r.responseStatus, r.attempts])).toEqual(Array(3).fill(['SUCCEEDED', 200, 1]));
    const attempts = await db.prisma.webhookAttempt.findMany({ where: { deliveryId: rows[0]!.id } });
    expect(attempts).toMatchObject([{ number: 1, status: 200, excerpt: 'thanks', error: null }]);
    // Finished: never sent twice.
    expect(await deliverWebhook(db, rows[0]!.id)).toBe('skipped');
  });

  it('resolving, reopening and entries map to their events; an internal note is sent too', async () => {
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.resolved', 'ticket.reopened', 'entry.added']);
    await addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'Internal: the toner is counterfeit.' });
    const resolved = await resolveTicket(as(db, tech), { reference: t.reference }, { code: 'FIXED', note: 'Replaced the toner.' });
    await reopenTicket(as(db, tech), { reference: t.reference, version: resolved.version }, 'Still blank.');
    const rows = await deliveriesOf(e.id);
    expect(rows.map((r) => r.eventType)).toEqual(expect.arrayContaining(['entry.added', 'ticket.resolved', 'ticket.reopened']));
    const note = JSON.parse(rows.find((r) => r.eventType === 'entry.added')!.body);
    expect(note.entry).toMatchObject({ kind: 'NOTE', body: 'Internal: the toner is counterfeit.', truncated: false });
  });

  it('a customer reply is entry.added and customer.replied, by the customer, its body bounded; never the private link', async () => {
    const t = await buildTicket(db, tech);
    const token = await issueAccessToken(db.pool, t.id, null, 30);
    const e = await endpoint(['customer.replied', 'entry.added']);
    const long = `${'All pages come out blank. '.repeat(700)}`.slice(0, 17_000);
    await addCustomerReply(db.prisma, t.id, long);
    const rows = await deliveriesOf(e.id);
    expect(rows.map((r) => r.eventType).sort()).toEqual(['customer.replied', 'entry.added']);
    for (const r of rows) {
      const body = JSON.parse(r.body);
      expect(body.actor).toEqual({ type: 'customer', name: 'Dana Customer' });
      expect(body.entry).toMatchObject({ kind: 'CUSTOMER_REPLY', truncated: true });
      expect(body.entry.body).toHaveLength(16_001); // 16,000 characters and "…"
      expect(r.body.length).toBeLessThan(20_000);
      expect(r.body).not.toContain(token);
    }
  });

  it('a ticket creation is delivered only when an endpoint subscribes to it (and then needs a transaction)', async () => {
    const other = await endpoint(['ticket.updated']);
    expect(await ticketEventsActive(db.prisma)).toBe(false);
    const e = await endpoint(['ticket.created']);
    expect(await ticketEventsActive(db.prisma)).toBe(true);
    const t = await buildTicket(db, tech, { title: 'Scanner jams' });
    const rows = await deliveriesOf(e.id);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.body)).toMatchObject({ type: 'ticket.created', ticket: { reference: t.reference, title: 'Scanner jams', status: 'NEW' } });
    expect(await deliveriesOf(other.id)).toHaveLength(0);
    // Switched off: nothing more (the kept copy is dropped by the change).
    await updateEndpoint(as(db, admin), e.id, e.version, { url: e.url, description: '', events: ['ticket.created'], active: false });
    await buildTicket(db, tech);
    expect(await deliveriesOf(e.id)).toHaveLength(1);
  });

  it('a rolled-back change sends nothing', async () => {
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    const before = await countRows(db);
    const jobsBefore = await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook_delivery'`);
    await expect(
      ticketTransaction(db.prisma, async (tx) => {
        const current = await tx.ticket.findUniqueOrThrow({ where: { id: t.id } });
        await changeTicket(tx, tech, current, { urgency: 'CRITICAL' });
        await settleTicketEvents(tx); // the deliveries are written here…
        expect(await tx.webhookDelivery.count({ where: { endpointId: e.id } })).toBe(1);
        throw new Error('the change fails after its deliveries were written');
      }),
    ).rejects.toThrow(/fails after/);
    expect(await countRows(db)).toEqual(before);
    const jobsAfter = await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook_delivery'`);
    expect(jobsAfter.rows[0].n).toBe(jobsBefore.rows[0].n);
  });
});

describe('retries', () => {
  it('a receiver answering 500 is retried with growing waits and delivered once it answers 200', async () => {
    const worker = await startWebhookWorker(db, loadConfig({ NODE_ENV: 'test', ...ENV, MAIL_POLL_MS: '100', WEBHOOK_SWEEP_SECONDS: '0' }));
    runners.push(worker);
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    receiver.state.answers = [500, 503];
    await changeUrgency(as(db, tech), { reference: t.reference }, 'LOW');
    const [d] = await deliveriesOf(e.id);
    const done = await until('the delivery', async () => {
      const r = await db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } });
      return r.state !== 'QUEUED' && r;
    });
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 3, responseStatus: 200 });
    const attempts = await db.prisma.webhookAttempt.findMany({ where: { deliveryId: d!.id }, orderBy: { id: 'asc' } });
    expect(attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(attempts[0]!.excerpt).toBe('receiver broken');
    // Backoff: 100 ms after the first failure, 300 ms after the second.
    const gap = (i: number) => attempts[i + 1]!.startedAt.getTime() - attempts[i]!.startedAt.getTime();
    expect(gap(0)).toBeGreaterThanOrEqual(100);
    expect(gap(1)).toBeGreaterThanOrEqual(300);
    const got = receiver.got.filter((g) => g.path === e.path);
    expect(got).toHaveLength(3);
    // Every attempt carries the same event id and body; the last verifies.
    expect(new Set(got.map((g) => g.headers['caseboard-event-id'])).size).toBe(1);
    expect(readmeVerify(e.secret, got[2]!.body, String(got[2]!.headers['caseboard-signature']))).toBe(true);
  });

  it('a receiver that is down (connection refused) loses nothing: delivered once it is back', async () => {
    // Down "for a minute", on a shorter clock: refused for ~1.5 s with waits of 100, 300, 900 ms…
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close();
    const worker = await startWebhookWorker(db, loadConfig({ NODE_ENV: 'test', ...ENV, MAIL_POLL_MS: '100', WEBHOOK_SWEEP_SECONDS: '1' }));
    runners.push(worker);
    const t = await buildTicket(db, tech);
    const e = await endpoint(['entry.added'], `http://127.0.0.1:${port}/down`);
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'We are on it.' });
    const [d] = await deliveriesOf(e.id);
    await until('two failed attempts', async () => (await db.prisma.webhookAttempt.count({ where: { deliveryId: d!.id } })) >= 2);
    const back = await startReceiver(port);
    try {
      const done = await until('the delivery', async () => {
        const r = await db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } });
        return r.state !== 'QUEUED' && r;
      });
      expect(done.state).toBe('SUCCEEDED');
      expect(done.attempts).toBeGreaterThanOrEqual(3);
      const failed = await db.prisma.webhookAttempt.findMany({ where: { deliveryId: d!.id, status: null } });
      expect(failed[0]!.error).toMatch(/ECONNREFUSED|connect/);
      expect(back.got).toHaveLength(1);
      const body = JSON.parse(back.got[0]!.body);
      expect(body).toMatchObject({ type: 'entry.added', entry: { kind: 'REPLY', body: 'We are on it.' } });
      expect(readmeVerify(e.secret, back.got[0]!.body, String(back.got[0]!.headers['caseboard-signature']))).toBe(true);
    } finally {
      await back.close();
    }
  });

  it('the sweep queues again a due delivery whose job was lost, and only that one', async () => {
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
    const [d] = await deliveriesOf(e.id);
    // Its job has a live job: nothing to do.
    const queued = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook_delivery' AND state = 'created' AND (data->>'deliveryId')::int = $1`, [d!.id])).rows[0].n;
    expect(await queued()).toBe(1);
    await sweepWebhookDeliveries(db);
    expect(await queued()).toBe(1);
    // The job is lost (its process died with it): queued again once.
    await db.pool.query(`UPDATE pgboss.job SET state = 'failed' WHERE name = 'webhook_delivery' AND (data->>'deliveryId')::int = $1`, [d!.id]);
    expect(await sweepWebhookDeliveries(db)).toBeGreaterThanOrEqual(1);
    expect(await queued()).toBe(1);
    await sweepWebhookDeliveries(db);
    expect(await queued()).toBe(1);
    // A worker mid-send holds a lease: not queued again meanwhile.
    await db.pool.query(`UPDATE pgboss.job SET state = 'failed' WHERE name = 'webhook_delivery' AND (data->>'deliveryId')::int = $1`, [d!.id]);
    await db.pool.query(`UPDATE "WebhookDelivery" SET "attemptingUntil" = now() + interval '1 minute' WHERE id = $1`, [d!.id]);
    await sweepWebhookDeliveries(db);
    expect(await queued()).toBe(0);
    expect(await deliverWebhook(db, d!.id)).toBe('skipped');
  });

  it('a 4xx answer fails the delivery at once; the last attempt fails it for good', async () => {
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
    const [d] = await deliveriesOf(e.id);
    receiver.state.answers = [410];
    expect(await deliverWebhook(db, d!.id)).toBe('failed');
    expect(await db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } })).toMatchObject({ state: 'FAILED', responseStatus: 410, attempts: 1 });
    await changeUrgency(as(db, tech), { reference: t.reference }, 'LOW');
    const d2 = (await deliveriesOf(e.id))[1]!;
    receiver.state.answers = [500, 500];
    const s = { maxAttempts: 2, retryBaseMs: 0 };
    expect(await deliverWebhook(db, d2.id, s)).toBe('retry');
    expect(await deliverWebhook(db, d2.id, s)).toBe('failed');
    // Switched off with a delivery pending: it fails at its attempt, nothing is sent.
    await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
    const d3 = (await deliveriesOf(e.id))[2]!;
    const current = await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: e.id } });
    await updateEndpoint(as(db, admin), e.id, current.version, { url: e.url, description: '', events: ['ticket.updated'], active: false });
    const sent = receiver.got.length;
    expect(await deliverWebhook(db, d3.id)).toBe('failed');
    expect(receiver.got.length).toBe(sent);
    expect((await db.prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId: d3.id } })).error).toMatch(/disabled or deleted/);
  });
});

describe('SSRF', () => {
  it('a loopback or private address is refused at save and at send unless allowed', async () => {
    configureOutgoing({ allowPrivate: false, timeoutMs: 2000 });
    for (const url of ['https://127.0.0.1/hook', 'https://10.0.0.5/hook', 'https://localhost/hook', 'https://[::1]/hook', 'http://hooks.example.com/x', 'https://169.254.169.254/latest']) {
      const before = await countRows(db);
      await expect(createEndpoint(as(db, admin), { url, description: '', events: ['ticket.updated'], active: true }), url).rejects.toThrow(/check the fields/);
      expect(await countRows(db)).toEqual(before);
    }
    // Saved while allowed, sent while not: refused before connecting, not retried.
    configureOutgoing({ allowPrivate: true, timeoutMs: 2000 });
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
    const [d] = await deliveriesOf(e.id);
    const strict = { allowPrivate: false, timeoutMs: 2000 };
    expect(await deliverWebhook(db, d!.id, undefined, strict)).toBe('failed');
    expect(receiver.got.filter((g) => g.path === e.path)).toHaveLength(0);
    const [a] = await db.prisma.webhookAttempt.findMany({ where: { deliveryId: d!.id } });
    expect(a!.error).toMatch(/https:\/\/|private/);
    // A public-looking name resolving to 127.0.0.1 (DNS stood in for): refused when sending.
    const e2 = await endpoint(['ticket.updated'], 'https://hooks.example.test/caseboard');
    await changeUrgency(as(db, tech), { reference: t.reference }, 'LOW');
    const [d2] = await deliveriesOf(e2.id);
    const rebinding = { ...strict, resolve: async () => [{ address: '127.0.0.1', family: 4 }] };
    expect(await deliverWebhook(db, d2!.id, undefined, rebinding)).toBe('failed');
    const [a2] = await db.prisma.webhookAttempt.findMany({ where: { deliveryId: d2!.id } });
    expect(a2!.error).toMatch(/resolves to 127\.0\.0\.1, a private or reserved address/);
  });
});

describe('pages', () => {
  const form = (csrf: string, extra: Record<string, unknown> = {}) => ({ _csrf: csrf, url: receiver.url(`/hook/${unique()}`), description: 'CRM sync', events: ['ticket.created', 'entry.added'], active: '1', ...extra });

  it('an admin registers an endpoint: the secret is shown once, then never; the admin navigation links the page', async () => {
    const { agent } = await signIn(app, admin.email);
    const list = await agent.get('/webhooks').expect(200);
    expect(list.text).toContain('href="/webhooks"');
    const page = await agent.get('/webhooks/new').expect(200);
    // Created, then redirected (a reload re-posts nothing) to the page that shows the secret once.
    const res = await agent.post('/webhooks').type('form').send(form(csrfOf(page.text))).expect(303);
    const e = await db.prisma.webhookEndpoint.findFirstOrThrow({ where: { deletedAt: null }, orderBy: { id: 'desc' } });
    expect(res.headers.location).toBe(`/webhooks/${e.id}/secret`);
    const once = await agent.get(res.headers.location!).expect(200);
    expect(once.headers['cache-control']).toBe('no-store');
    const secret = /value="(whsec_[A-Za-z0-9_-]{43})"/.exec(once.text)?.[1];
    expect(secret).toBeDefined();
    expect(e).toMatchObject({ secret, events: ['ticket.created', 'entry.added'], active: true, description: 'CRM sync' });
    const again = await agent.get(res.headers.location!).expect(200);
    expect(again.text).not.toContain('whsec_');
    expect(again.text).toContain('is not shown again');
    const show = await agent.get(`/webhooks/${e.id}`).expect(200);
    expect(show.text).not.toContain(secret!);
    // Roll the secret: a new one, shown once; history says so (never the secret).
    const rolled = await agent.post(`/webhooks/${e.id}/secret`).type('form').send({ _csrf: csrfOf(show.text) }).expect(303);
    const rolledPage = await agent.get(rolled.headers.location!).expect(200);
    const secret2 = /value="(whsec_[A-Za-z0-9_-]{43})"/.exec(rolledPage.text)?.[1];
    expect(secret2).toBeDefined();
    expect(secret2).not.toBe(secret);
    expect((await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: e.id } })).secret).toBe(secret2);
    // Another admin's session never sees it.
    const { agent: other } = await signIn(app, (await buildUser(db, { role: 'ADMIN', name: 'Other Admin' })).email);
    expect((await other.get(`/webhooks/${e.id}/secret`).expect(200)).text).not.toContain('whsec_');
    const history = await db.prisma.webhookEndpointHistory.findMany({ where: { endpointId: e.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => h.action)).toEqual(['CREATED', 'SECRET_ROLLED']);
    expect(JSON.stringify(history)).not.toContain('whsec_');
    // Technicians see neither the page nor the link.
    const { agent: techAgent } = await signIn(app, tech.email);
    const techPage = await techAgent.get('/tickets').expect(200);
    expect(techPage.text).not.toContain('href="/webhooks"');
    await techAgent.get('/webhooks').expect(403);
    await techAgent.get(`/webhooks/${e.id}`).expect(403);
  });

  it('bad input is refused with a clear message and nothing written', async () => {
    const { agent } = await signIn(app, admin.email);
    const csrf = csrfOf((await agent.get('/webhooks/new').expect(200)).text);
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { events: [] })), 422, 'Choose at least one event.');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { events: ['ticket.deleted'] })), 422, 'Choose among the events listed.');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { url: 'not a url' })), 422, 'Enter a full address');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { url: 'ftp://example.com/x' })), 422, 'must start with https://');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { url: `https://example.com/${'x'.repeat(2100)}` })), 422, 'too long');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send(form(csrf, { description: 'x'.repeat(600) })), 422, 'under 500 characters');
    await expectRefused(db, () => agent.post('/webhooks').type('form').send({ _csrf: csrf, url: ['a', 'b'], events: 'ticket.created' }), 422);
    // Editing: a stale version is a conflict; delete needs its box ticked; unknown ids are 404.
    const e = await endpoint(['ticket.updated']);
    await expectRefused(db, () => agent.post(`/webhooks/${e.id}`).type('form').send({ ...form(csrf), version: '0' }), 422);
    await updateEndpoint(as(db, admin), e.id, e.version, { url: e.url, description: 'changed', events: ['ticket.updated'], active: true });
    await expectRefused(db, () => agent.post(`/webhooks/${e.id}`).type('form').send({ ...form(csrf), version: String(e.version) }), 409, 'changed by someone else');
    await expectRefused(db, () => agent.post(`/webhooks/${e.id}/delete`).type('form').send({ _csrf: csrf }), 422, 'Tick the box');
    await expectRefused(db, () => agent.post('/webhooks/99999999/delete').type('form').send({ _csrf: csrf, confirm: '1' }), 404);
    await expectRefused(db, () => agent.post(`/webhooks/${e.id}/deliveries/99999999/resend`).type('form').send({ _csrf: csrf }), 404);
    await expectRefused(db, () => agent.get('/webhooks/abc'), 404);
    // A technician is refused, nothing written.
    const { agent: techAgent } = await signIn(app, tech.email);
    const techCsrf = csrfOf((await techAgent.get('/tickets').expect(200)).text);
    await expectRefused(db, () => techAgent.post('/webhooks').type('form').send(form(techCsrf)), 403);
    // Deleted: gone from the list, its page 404, nothing sent to it.
    await agent.post(`/webhooks/${e.id}/delete`).type('form').send({ _csrf: csrf, confirm: '1' }).expect(303);
    await agent.get(`/webhooks/${e.id}`).expect(404);
  });

  it('the delivery log lists attempts newest first, keyset-paginated, and "send again" queues the same event again', async () => {
    const { agent } = await signIn(app, admin.email);
    const t = await buildTicket(db, tech);
    const e = await endpoint(['ticket.updated']);
    await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
    const [d] = await deliveriesOf(e.id);
    receiver.state.answers = [500];
    expect(await deliverWebhook(db, d!.id, { maxAttempts: 1, retryBaseMs: 0 })).toBe('failed');
    // 30 more deliveries (as an earlier burst would leave them), for the pages.
    await db.prisma.webhookDelivery.createMany({ data: Array.from({ length: 30 }, () => ({ eventId: d!.eventId, eventType: 'ticket.updated', body: '{}', endpointId: e.id, state: 'FAILED' as const, finishedAt: new Date() })) });
    const first = await agent.get(`/webhooks/${e.id}`).expect(200);
    const older = /href="\/webhooks\/\d+\?before=(\d+)#log"/.exec(first.text);
    expect(older).not.toBeNull();
    const second = await agent.get(`/webhooks/${e.id}?before=${older![1]}`).expect(200);
    expect(second.text).toContain(`#${d!.id} `);
    expect(second.text).toContain('HTTP 500');
    expect(second.text).toContain('receiver broken');
    expect(first.text).not.toContain(`#${d!.id} `);
    await agent.get(`/webhooks/${e.id}?before=junk`).expect(200);

    const res = await agent.post(`/webhooks/${e.id}/deliveries/${d!.id}/resend`).type('form').send({ _csrf: csrfOf(first.text) }).expect(303);
    expect(res.headers.location).toBe(`/webhooks/${e.id}?done=webhook-resent#log`);
    const again = await db.prisma.webhookDelivery.findFirstOrThrow({ where: { resendOfId: d!.id } });
    expect(again).toMatchObject({ eventId: d!.eventId, body: d!.body, resentById: admin.id, state: 'QUEUED' });
    expect(await deliverWebhook(db, again.id)).toBe('succeeded');
    const got = receiver.got.filter((g) => g.path === e.path);
    expect(got.at(-1)!.headers['caseboard-event-id']).toBe(d!.eventId);
    expect(got.at(-1)!.body).toBe(d!.body);
    const h = await db.prisma.webhookEndpointHistory.findFirstOrThrow({ where: { endpointId: e.id, action: 'RESENT' } });
    expect(h).toMatchObject({ actorId: admin.id, refId: again.id });
    const page = await agent.get(`/webhooks/${e.id}?done=webhook-resent`).expect(200);
    expect(page.text).toContain('sent again by Ada Admin');
  });
});
