// Running in production: request log lines (what they hold, what they never hold), /metrics
// (its token, its content), /ready (database, migrations, shutting down).
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createApp, lifecycleOf } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { connectDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/log.js';
import { countSlaActions } from '../../src/observability/metrics.js';
import { loggablePath } from '../../src/web/middleware/request-log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildUser, PASSWORD } from '../helpers/factories.js';
import { csrfOf, testApp } from '../helpers/http.js';
import { sendRaw, startTestInbound } from '../helpers/inbound.js';
import type { Actor } from '../../src/services/context.js';

const SECRET = 'test-secret-that-is-long-enough-1234567890';
const TOKEN = 'metrics-token-0123456789abcdef';

/** A logger whose JSON lines the test reads. */
function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

let db: TestDatabase;
let app: Express;
let captured: ReturnType<typeof capturedLogger>;
let tech: Actor;
const techEmail = `log-tech-${Date.now()}@example.test`;

beforeAll(async () => {
  db = await createTestDatabase();
  captured = capturedLogger();
  const config = loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: TOKEN });
  app = createApp({ db, config, sessionSecret: SECRET, pruneSessions: false, logger: captured.logger });
  tech = await buildUser(db, { name: 'Lotte Logged', email: techEmail });
});
afterAll(() => db?.close());

describe('request log lines', () => {
  it('sign-in: one line per request, with id, route, status and duration; never the password, the address, cookies or the CSRF token', async () => {
    const agent = request.agent(app);
    const page = await agent.get('/login').expect(200);
    const csrf = csrfOf(page.text);
    const signedIn = await agent.post('/login').type('form').send({ email: techEmail, password: PASSWORD, _csrf: csrf }).expect(303);
    const cookie = String(([] as string[]).concat(signedIn.headers['set-cookie'] ?? []).find((c) => c.startsWith('caseboard.sid=')) ?? '');
    expect(cookie).not.toBe('');
    await agent.get(`/tickets?q=${encodeURIComponent('someone@example.test')}`).expect(200);

    const all = captured.lines.join('\n');
    for (const secret of [PASSWORD, techEmail, encodeURIComponent(techEmail), csrf, cookie.split(';')[0]!.split('=')[1]!, 'someone', 'Lotte']) {
      expect(all, `the log holds ${secret}`).not.toContain(secret);
    }
    expect(all).not.toMatch(/cookie|authorization|_csrf/i);

    const records = captured.records();
    const post = records.find((r) => r.req?.method === 'POST' && r.route === '/login')!;
    expect(post).toBeDefined();
    expect(post).toMatchObject({ level: 30, req: { path: '/login' }, res: { statusCode: 303 }, msg: 'POST /login 303' });
    expect(typeof post.req.id).toBe('string');
    expect(post.durationMs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(post.req).sort()).toEqual(['id', 'method', 'path']);
    // After sign-in the line names the staff member by id, and the path has no query.
    const queue = records.find((r) => r.route === '/tickets/')!;
    expect(queue).toMatchObject({ userId: tech.id, req: { path: '/tickets' }, res: { statusCode: 200 } });
  });

  it('takes a well-formed X-Request-Id and echoes it; makes one up for a malformed one', async () => {
    const given = 'lb-1234abcd-5678';
    const res = await request(app).get('/login').set('X-Request-Id', given).expect(200);
    expect(res.headers['x-request-id']).toBe(given);
    expect(captured.records().some((r) => r.req?.id === given)).toBe(true);
    const bad = await request(app).get('/login').set('X-Request-Id', 'a b"level":60}').expect(200);
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(captured.lines.join('\n')).not.toContain('"level":60}');
  });

  it('paths as logged: no query, no tokens, no addresses', () => {
    expect(loggablePath('/tickets?q=ann%40example.test&page=2')).toBe('/tickets');
    expect(loggablePath('/s/abc/files/12/report.pdf')).toBe('/s/:token/files/12/report.pdf');
    expect(loggablePath('/customers/ann@example.test')).toBe('/customers/:address');
    expect(loggablePath('/customers/ann%40example.test/x')).toBe('/customers/:address/x');
    expect(loggablePath('/reset/0123456789abcdefABCDEF_-xyz')).toBe('/reset/:token');
    expect(loggablePath('/tickets/CB-7K2M9QX/edit')).toBe('/tickets/CB-7K2M9QX/edit');
    expect(loggablePath(`/${'a/'.repeat(1000)}`).length).toBeLessThanOrEqual(300);
  });

  it('private links: the token is not logged', async () => {
    const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
    await request(app).get(`/s/${token}`);
    const all = captured.lines.join('\n');
    expect(all).not.toContain(token);
    expect(captured.records().some((r) => r.req?.path === '/s/:token')).toBe(true);
  });
});

describe('/metrics', () => {
  it('needs the bearer token; without METRICS_TOKEN there is none on the app port', async () => {
    await request(app).get('/metrics').expect(401).expect('WWW-Authenticate', /Bearer/);
    await request(app).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
    await request(app).get('/metrics').set('Authorization', `Basic ${TOKEN}`).expect(401);
    await request(testApp(db)).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(404);
  });

  it('has request durations by route pattern, the pool, job queues, outbox lag, mail and SLA counters', async () => {
    // A customer's web request: a ticket and its acknowledgement mail, queued (no worker runs here).
    const agent = request.agent(app);
    const form = await agent.get('/request').expect(200);
    await agent
      .post('/request')
      .type('form')
      .send({ _csrf: csrfOf(form.text), name: 'Metric Customer', email: 'metric@example.test', title: 'Metrics', description: 'x' })
      .expect(201);
    countSlaActions(['FIRST_RESPONSE:1:breach', 'RESOLUTION:1:warning']);

    const res = await request(app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/request",status_class="2xx"\} [1-9]/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/login",status_class="2xx"\}/);
    // Route patterns, never raw paths: no token, no query.
    expect(text).not.toMatch(/route="\/s\/[A-Za-z0-9]/);
    expect(text).toContain('route="/s/:token"');
    expect(text).toMatch(/caseboard_db_pool_connections\{state="total"\} \d+/);
    expect(text).toMatch(/caseboard_db_pool_connections\{state="waiting"\} 0/);
    expect(text).toMatch(/caseboard_job_queue_depth\{queue="send_mail"\} [1-9]/);
    expect(text).toMatch(/caseboard_job_queue_oldest_seconds\{queue="send_mail"\} [\d.e-]+/);
    expect(text).toMatch(/caseboard_outbox_pending\{outbox="mail"\} [1-9]/);
    expect(text).toMatch(/caseboard_outbox_oldest_seconds\{outbox="mail"\} [\d.e-]+/);
    expect(text).toMatch(/caseboard_outbox_pending\{outbox="webhook"\} 0/);
    expect(text).toMatch(/caseboard_sla_breaches_total\{target="FIRST_RESPONSE"\} [1-9]/);
    expect(text).not.toContain('target="RESOLUTION"');
    expect(text).toContain('# TYPE caseboard_inbound_mail_total counter');
    expect(text).toMatch(/caseboard_metrics_scrape_errors 0/);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).not.toContain('metric@example.test');
  });
});

describe('inbound mail outcomes', () => {
  it('counts each message taken over SMTP by what became of it', async () => {
    const scrape = async () => (await request(app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200)).text;
    const value = (text: string, outcome: string) =>
      Number(new RegExp(`caseboard_inbound_mail_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const before = await scrape();
    const smtp = await startTestInbound(db);
    try {
      const raw = (id: string, extra = '') =>
        `From: Mia Mail <mia@example.test>\r\nTo: support@caseboard.test\r\nSubject: Printer\r\nMessage-ID: <${id}@example.test>\r\n${extra}\r\nIt jams.\r\n`;
      const envelope = { from: 'mia@example.test', to: ['support@caseboard.test'] };
      await sendRaw(smtp, envelope, raw('obs-1'));
      await sendRaw(smtp, envelope, raw('obs-1')); // the same message again
      await sendRaw(smtp, envelope, raw('obs-2', 'Auto-Submitted: auto-replied\r\n'));
    } finally {
      await smtp.stop();
    }
    const after = await scrape();
    expect(value(after, 'new_ticket') - value(before, 'new_ticket')).toBe(1);
    expect(value(after, 'redelivered') - value(before, 'redelivered')).toBe(1);
    expect(value(after, 'ignored') - value(before, 'ignored')).toBe(1);
    expect(after).not.toContain('mia@example.test');
  });
});

describe('/ready', () => {
  it('is ok when the database answers and every migration is applied; no session', async () => {
    const res = await request(app).get('/ready').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('503 with the reason when the database refuses connections (the instance stays alive: /health is its own)', async () => {
    // A port nothing listens on: connections are refused at once.
    const away = connectDatabase('postgresql://postgres@127.0.0.1:9/none', 2);
    try {
      const other = createApp({ db: away, config: loadConfig({ NODE_ENV: 'test' }), sessionSecret: SECRET, pruneSessions: false });
      const res = await request(other).get('/ready').expect(503);
      expect(res.body).toEqual({ status: 'unavailable', reason: 'database unreachable' });
    } finally {
      await away.close();
    }
  });

  it('503 when migrations are not applied', async () => {
    const empty = await createTestDatabase({ empty: true });
    try {
      const other = createApp({ db: empty, config: loadConfig({ NODE_ENV: 'test' }), sessionSecret: SECRET, pruneSessions: false });
      const res = await request(other).get('/ready').expect(503);
      expect(res.body).toEqual({ status: 'unavailable', reason: 'migrations not applied' });
    } finally {
      await empty.close();
    }
  });

  it('503 once shutdown began, while /health still answers', async () => {
    const other = testApp(db);
    await request(other).get('/ready').expect(200);
    lifecycleOf(other).stopping = true;
    const res = await request(other).get('/ready').expect(503);
    expect(res.body).toEqual({ status: 'unavailable', reason: 'shutting down' });
    await request(other).get('/health').expect(200);
  });
});
