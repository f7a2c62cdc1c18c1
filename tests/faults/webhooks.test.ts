// Webhook delivery survives a receiver that is down and a SIGKILL of the app: the real server
// process (`tsx src/server.ts`) on a PostgreSQL 15 cluster of the test's own sends a delivery to a
// receiver that first refuses connections, then hangs (the app is SIGKILLed while the request is
// in flight), then answers. After the restart the delivery arrives, once answered, and its
// signature verifies. Short clock: WEBHOOK_RETRY_BASE_MS=200, the sweep every second, requests
// time out after 3 s (so a send cut by the kill is taken for lost ~10 s later) — seconds, not a minute.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AppProcess } from './lib/app-process.js';
import { freePort, PgCluster } from './lib/pg-cluster.js';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { configureOutgoing } from '../../src/services/outgoing/signed-request.js';
import { createEndpoint } from '../../src/services/webhooks/endpoints.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { buildTicket } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = join(ROOT, 'tests/faults/artifacts');
const ADMIN = { email: 'hooks-admin@example.com', password: 'hooks-admin-password-1' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function verify(secret: string, rawBody: string, header: string) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('='))) as Record<string, string | undefined>;
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(expected, given);
}

let cluster: PgCluster | null = null;
let app: AppProcess | null = null;
let db: Database | null = null;
let server: http.Server | null = null;
const dataDir = mkdtempSync(join(tmpdir(), 'caseboard-faults-hooks-'));

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  cluster = await PgCluster.create();
});

afterAll(async () => {
  await app?.stop().catch(() => app?.killSync());
  server?.closeAllConnections();
  server?.close();
  await db?.close();
  cluster?.destroySync();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a delivery survives a receiver that is down and a SIGKILL of the app mid-send: delivered once back, signature verifies', async () => {
  const url = await cluster!.createDatabase('caseboard_hooks');
  const port = await freePort();
  app = new AppProcess({
    root: ROOT,
    port: await freePort(),
    databaseUrl: url,
    dataDir,
    adminEmail: ADMIN.email,
    adminPassword: ADMIN.password,
    logFile: join(ARTIFACTS, 'app-webhooks.log'),
    extraEnv: { AUTOMATION_ALLOW_PRIVATE: 'true', AUTOMATION_TIMEOUT_MS: '3000', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_SWEEP_SECONDS: '1', MAIL_POLL_MS: '100' },
  });
  await app.start();
  db = connectDatabase(url, 4);
  configureOutgoing({ allowPrivate: true, timeoutMs: 3000 });
  const row = await db.prisma.user.findUniqueOrThrow({ where: { email: ADMIN.email } });
  const admin: Actor = { id: row.id, role: row.role, name: row.name, email: row.email };
  const { endpoint, secret } = await createEndpoint({ db: db.prisma, actor: admin }, { url: `http://127.0.0.1:${port}/hook`, description: '', events: ['ticket.updated'], active: true });
  const ticket = await buildTicket(db, admin);

  // 1. The receiver is down (nothing listens on its port): the change commits, attempts fail.
  await changeUrgency({ db: db.prisma, actor: admin }, { reference: ticket.reference }, 'CRITICAL');
  const delivery = await db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: endpoint.id } });
  await until('two refused attempts', async () => (await db!.prisma.webhookAttempt.count({ where: { deliveryId: delivery.id } })) >= 2);

  // 2. The receiver comes up but hangs; the app is SIGKILLed while its request is in flight.
  const got: { headers: http.IncomingHttpHeaders; body: string; at: number }[] = [];
  let mode: 'hang' | 'answer' = 'hang';
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      if (mode === 'answer') res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
  await until('the request in flight', () => got.length >= 1);
  await app.kill9();
  const killedAt = Date.now();
  const inFlight = await db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
  expect(inFlight.state).toBe('QUEUED');

  // 3. The receiver answers again; the app restarts: the sweep finds the lost send, it is delivered.
  mode = 'answer';
  server.closeAllConnections();
  const restartMs = await app.start();
  const done = await until('the delivery after the restart', async () => {
    const d = await db!.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    return d.state !== 'QUEUED' && d;
  });
  const answered = got.filter((g) => g.at > killedAt);
  console.log(
    `webhook fault test: ${done.attempts} attempts recorded; app restarted in ${restartMs} ms; delivered ${((answered[0]?.at ?? 0) - killedAt) / 1000} s after the kill; log in ${join(ARTIFACTS, 'app-webhooks.log')}`,
  );
  expect(done.state).toBe('SUCCEEDED');
  expect(done.responseStatus).toBe(200);
  expect(answered).toHaveLength(1);
  const last = answered[0]!;
  expect(verify(secret, last.body, String(last.headers['caseboard-signature']))).toBe(true);
  expect(last.headers['caseboard-event-id']).toBe(delivery.eventId);
  expect(last.body).toBe(delivery.body);
  expect(JSON.parse(last.body)).toMatchObject({ type: 'ticket.updated', ticket: { reference: ticket.reference, urgency: 'CRITICAL' } });
  expect(app.crashes).toEqual([]);
});
