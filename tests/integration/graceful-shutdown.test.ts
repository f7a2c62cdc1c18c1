// SIGTERM on a real server process (`node --import tsx src/server.ts`, as `npm start` runs it):
// a request in flight (its body still being sent) is answered, new connections are refused, the
// process exits 0 within the grace period. And one that never finishes is cut at the grace's end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const GRACE_MS = 4000;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Running {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

let db: TestDatabase | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'caseboard-shutdown-'));
  // On the PostgreSQL server: this file's own database. Embedded: the server starts its own PGlite
  // in a temporary DATA_DIR, as `npm start` does.
  if (inject('testDb').mode === 'server') db = await createTestDatabase();
});
afterAll(async () => {
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<Running> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: join(dataDir, `data-${port}`),
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'info',
    PASSWORD_COST_LOG2: '14',
    MAIL_WORKER_CONCURRENCY: '1',
    AUTOMATION_SWEEP_MINUTES: '0',
    ...(db ? { DATABASE_URL: db.url } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server ended at start:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the server did not get ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port, metricsPort, output: () => out, exited };
}

/** A POST whose body is only half sent: the request is in flight until the rest comes. */
async function halfSentRequest(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const body = 'email=nobody%40example.test&password=not-the-password-at-all';
  socket.write(
    `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  );
  return { socket, rest: body.slice(10), answer: () => answer, ended };
}

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });

async function waitFor(what: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

// A start on the embedded PostgreSQL (PGlite in the server process, migrations) takes a while.
describe('SIGTERM', { timeout: 120_000 }, () => {
  it('finishes the request in flight, refuses new connections, exits 0 within the grace period', async () => {
    const app = await start();
    // METRICS_PORT: metrics without a token on a listener of their own (none on the app's port).
    const metrics = await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/caseboard_job_queue_depth\{queue="send_mail"\} \d+/);
    expect((await fetch(`http://127.0.0.1:${app.port}/metrics`)).status).toBe(404);
    const inFlight = await halfSentRequest(app.port);
    await new Promise((r) => setTimeout(r, 200)); // its headers are read: it is in flight
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    expect(await waitFor(() => app.output().includes('shutting down'), 5000), app.output()).toBe(true);
    // The listener is closed: a new connection is refused.
    expect(await refused(app.port)).toBe('ECONNREFUSED');
    // The request in flight still gets its whole answer (a refused sign-in: no CSRF token).
    inFlight.socket.write(inFlight.rest);
    await inFlight.ended;
    expect(inFlight.answer()).toMatch(/^HTTP\/1\.1 403 /);
    // …and then its keep-alive connection is closed by the server (`ended` resolved above).
    const { code, at } = await app.exited;
    expect(code, app.output()).toBe(0);
    expect(at - signalled).toBeLessThan(GRACE_MS);
    expect(await refused(app.metricsPort)).toBe('ECONNREFUSED');
    const lines = app.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.some((l) => l.includes('"msg":"POST /login 403"'))).toBe(true);
    expect(lines.some((l) => l.includes('shut down: exiting'))).toBe(true);
    // The half-sent body's password never reached the log.
    expect(app.output()).not.toContain('not-the-password');
  });

  it('cuts a request that does not finish within SHUTDOWN_GRACE_MS, then exits 0', async () => {
    const app = await start();
    const stuck = await halfSentRequest(app.port); // the rest never comes
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    await stuck.ended;
    const cutAt = Date.now() - signalled;
    const { code, at } = await app.exited;
    expect(code, app.output()).toBe(0);
    expect(cutAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(at - signalled).toBeLessThan(GRACE_MS + 15_000);
    expect(app.output()).toContain('requests still in flight after');
  });
});
