// npm run bench [-- --duration 10 --connections 24 --only queue,ticket,create --profile --env production]
//
// Measures the three pages a help desk lives on, against DATABASE_URL's PostgreSQL (seed it
// first: npm run seed -- --tickets 1000000): the app runs as a child process on a free loopback
// port, a bench user signs in over HTTP, and autocannon loads each page for a bounded time.
// Prints requests/s, p50/p99 latency and any unexpected status, then EXPLAIN of the queue query.
// Every run adds the tickets it creates to the database (history is append-only).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { ACTIVE_STATUSES } from '../src/domain/status.js';
import { hashPassword, setPasswordCost } from '../src/services/passwords.js';
import { queueExplainSql } from '../src/services/tickets/queue.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['queue', 'ticket', 'create', 'form', 'health'] as const;
const DEFAULT_SCENARIOS = ['queue', 'ticket', 'create'];
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '24' },
    only: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
    env: { type: 'string', default: 'production' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
const USAGE =
  'Usage: DATABASE_URL=postgresql://... npm run bench -- [--duration S] [--warmup S] [--connections N]\n' +
  '       [--only queue,ticket,create,form,health] [--env production|development] [--profile]\n' +
  '  form (GET /tickets/new) and health (GET /health, no session) show the cost of the stack itself.';
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const DURATION = Math.min(60, Math.max(1, Number(args.duration)));
const WARMUP = Math.min(30, Math.max(0, Number(args.warmup)));
const CONNECTIONS = Math.min(128, Math.max(1, Number(args.connections)));
const ONLY = args.only!.split(',').map((s) => s.trim()) as Scenario[];
if (ONLY.some((s) => !SCENARIOS.includes(s)) || !['production', 'development'].includes(args.env!)) {
  console.error(USAGE);
  process.exit(2);
}

const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL) {
  console.error(
    'npm run bench needs DATABASE_URL: it measures a real PostgreSQL server, e.g.\n' +
      '  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/caseboard_bench npm run bench\n' +
      '(seed it first with npm run seed -- --tickets 1000000). Each run adds the tickets it creates.',
  );
  process.exit(2);
}
const dbName = decodeURIComponent(new URL(DATABASE_URL).pathname.slice(1));
if (['postgres', 'test', 'template0', 'template1'].includes(dbName) || dbName.startsWith('caseboard_test_')) {
  console.error(`Refusing to write benchmark tickets into the database "${dbName}": use a database of its own.`);
  process.exit(2);
}

const BENCH_EMAIL = 'bench@caseboard.example';
const BENCH_PASSWORD = randomBytes(12).toString('base64url');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The bench user: a technician with a fresh password (cheapest scrypt cost: sign-in is not measured). */
async function ensureBenchUser(pool: pg.Pool): Promise<number> {
  setPasswordCost(14);
  const hash = await hashPassword(BENCH_PASSWORD);
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO "User" (email, name, "passwordHash", role) VALUES ($1, 'Bench Technician', $2, 'TECHNICIAN')
     ON CONFLICT (email) DO UPDATE SET "passwordHash" = EXCLUDED."passwordHash", active = true
     RETURNING id`,
    [BENCH_EMAIL, hash],
  );
  return rows[0]!.id;
}

interface App {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

async function startApp(port: number, dataDir: string): Promise<App> {
  const nodeArgs = ['--import', 'tsx'];
  if (args.profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'data', 'profiles')}`);
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: args.env,
      DATABASE_URL,
      ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      // Only used if the database has no admin yet; keeps the generated password out of the log.
      ADMIN_EMAIL: 'bench-admin@caseboard.example',
      ADMIN_PASSWORD: randomBytes(16).toString('base64url'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The app exited during start-up:\n${log}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The app did not answer /health within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    base,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      if (log.includes('[error]')) console.log(`\nThe app logged errors:\n${log.slice(-3000)}`);
    },
  };
}

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('caseboard.sid='));
const csrfOf = (html: string) => {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('The page has no CSRF token.');
  return m[1];
};

/** Signs in like a browser: the login form's token, the POST, then a page for the session's token. */
async function signIn(base: string): Promise<{ cookie: string; csrf: string }> {
  const page = await fetch(`${base}/login`);
  const loginCookie = cookieOf(page);
  if (!loginCookie) throw new Error('GET /login set no session cookie.');
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ email: BENCH_EMAIL, password: BENCH_PASSWORD, _csrf: csrfOf(await page.text()) }),
  });
  const cookie = cookieOf(login);
  if (login.status !== 303 || !cookie) throw new Error(`Sign-in failed: HTTP ${login.status}.`);
  const queue = await fetch(`${base}/tickets`, { headers: { cookie } });
  if (queue.status !== 200) throw new Error(`GET /tickets after sign-in: HTTP ${queue.status}.`);
  return { cookie, csrf: csrfOf(await queue.text()) };
}

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  unexpected: number;
  detail: string;
  txPerRequest: number;
  bytes: number;
  /** CPU milliseconds per request: the app's process, PostgreSQL's, and the load generator's. */
  cpu: { app: number; db: number; bench: number };
  /** Share of the machine's CPU used by anything else meanwhile (other work disturbs the figures). */
  otherCpu: number;
}

/** CPU seconds used so far by a process (Linux /proc; 0 where it cannot be read). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the local PostgreSQL server's processes that work for the bench: the backends
 * connected to its database and the server's own (WAL writer, checkpointer, ...), not other
 * databases' backends.
 */
function postgresCpuSeconds(): number {
  let total = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
        const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
        const clientBackend = /\(\d+\)|\[local\]/.test(title);
        if (!clientBackend || title.includes(` ${dbName} `)) total += cpuSeconds(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return 0;
  }
}

async function dbTransactions(pool: pg.Pool): Promise<number> {
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await pool.query<{ n: string }>(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]!.n);
}

async function load(
  pool: pg.Pool,
  appPid: number,
  name: string,
  url: string,
  expected: number,
  opts: Partial<autocannon.Options>,
): Promise<Figures> {
  const common = { url, connections: CONNECTIONS, pipelining: 1, timeout: 10, ...opts };
  if (WARMUP > 0) await autocannon({ ...common, duration: WARMUP });
  // pg_stat_database hears from a busy backend at most once a second: the count is approximate.
  const tx0 = await dbTransactions(pool);
  const cpu0 = { app: cpuSeconds(appPid), db: postgresCpuSeconds(), bench: process.cpuUsage(), all: machineBusySeconds() };
  const result = await autocannon({ ...common, duration: DURATION });
  const bench = process.cpuUsage(cpu0.bench);
  const cpu1 = { app: cpuSeconds(appPid), db: postgresCpuSeconds(), all: machineBusySeconds() };
  await new Promise((r) => setTimeout(r, 1_100));
  const tx1 = await dbTransactions(pool);
  const byStatus = Object.entries(result.statusCodeStats ?? {}) as [string, { count: number }][];
  const unexpected =
    byStatus.filter(([code]) => Number(code) !== expected).reduce((n, [, s]) => n + Number(s.count), 0) +
    result.errors +
    result.timeouts;
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    unexpected,
    detail: byStatus.map(([code, s]) => `${code}×${s.count}`).join(' ') + (result.errors ? ` errors×${result.errors}` : ''),
    txPerRequest: result.requests.total ? (tx1 - tx0) / result.requests.total : 0,
    bytes: result.requests.total ? result.throughput.total / result.requests.total : 0,
    cpu: {
      app: ((cpu1.app - cpu0.app) * 1000) / (result.requests.total || 1),
      db: ((cpu1.db - cpu0.db) * 1000) / (result.requests.total || 1),
      bench: ((bench.user + bench.system) / 1000) / (result.requests.total || 1),
    },
    otherCpu: Math.max(
      0,
      (cpu1.all - cpu0.all - (cpu1.app - cpu0.app) - (cpu1.db - cpu0.db) - (bench.user + bench.system) / 1e6) /
        (result.duration * availableParallelism()),
    ),
  };
}

const DESCRIPTION =
  'Since this morning the customer cannot print from any application on the third floor. Jobs leave the ' +
  'computer, show as sent in the queue for a few seconds and then disappear without anything coming out of ' +
  'the printer. Other printers work. The printer display shows no error and a test page printed from its own ' +
  'menu comes out fine. The customer already restarted the printer and one of the affected computers. About ' +
  'fifteen people share this printer and the team needs it for delivery notes before the afternoon pickup.';
const URGENCY_MIX = ['NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'LOW', 'LOW', 'HIGH', 'NONE'];

let app: App | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'caseboard-bench-'));

async function main() {
  // Ctrl-C or a kill: stop the app too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void (app?.stop() ?? Promise.resolve()).finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  try {
    const { rows: size } = await pool.query<{ n: string; active: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE status IN ('NEW','OPEN','IN_PROGRESS','WAITING_ON_CUSTOMER')) AS active
       FROM "Ticket"`,
    ).catch(() => ({ rows: [{ n: '0', active: '0' }] }));
    const benchUserId = await ensureBenchUser(pool);
    const { rows: refs } = await pool.query<{ reference: string }>(
      `SELECT reference FROM "Ticket" TABLESAMPLE SYSTEM (1) ORDER BY random() LIMIT 2000`,
    );
    if (ONLY.includes('ticket') && refs.length === 0) throw new Error('The database has no tickets: seed it first.');

    const port = await freePort();
    app = await startApp(port, dataDir);
    const { cookie, csrf } = await signIn(app.base);
    console.log(
      `Caseboard bench: ${Number(size[0]!.n).toLocaleString('en')} tickets (${Number(size[0]!.active).toLocaleString('en')} active) ` +
        `in ${dbName}; app NODE_ENV=${args.env} on ${app.base}; ${CONNECTIONS} connections, ` +
        `${WARMUP} s warm-up + ${DURATION} s per page.`,
    );

    const results: Figures[] = [];
    for (const scenario of ONLY) {
      if (scenario === 'form') {
        results.push(await load(pool, app.child.pid!, 'GET /tickets/new (form)', `${app.base}/tickets/new`, 200, { headers: { cookie } }));
      } else if (scenario === 'health') {
        results.push(await load(pool, app.child.pid!, 'GET /health (no session)', `${app.base}/health`, 200, {}));
      } else if (scenario === 'queue') {
        results.push(await load(pool, app.child.pid!, 'GET /tickets (queue)', `${app.base}/tickets`, 200, { headers: { cookie } }));
      } else if (scenario === 'ticket') {
        let i = 0;
        results.push(
          await load(pool, app.child.pid!, 'GET /tickets/:reference', app.base, 200, {
            headers: { cookie },
            requests: [
              {
                setupRequest: (req) => ({ ...req, path: `/tickets/${refs[i++ % refs.length]!.reference}` }),
              },
            ],
          }),
        );
      } else {
        let n = 0;
        const run = randomBytes(3).toString('hex');
        results.push(
          await load(pool, app.child.pid!, 'POST /tickets (create)', `${app.base}/tickets`, 303, {
            method: 'POST',
            headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
            requests: [
              {
                setupRequest: (req) => {
                  n++;
                  const body = new URLSearchParams({
                    _csrf: csrf,
                    title: `Printer on floor 3 drops jobs (bench ${run}-${n})`,
                    description: DESCRIPTION,
                    urgency: URGENCY_MIX[n % URGENCY_MIX.length]!,
                    channel: 'PHONE',
                    customerName: `Bench Customer ${n % 5000}`,
                    // A mix of returning customers and new ones.
                    customerEmail: `bench-customer-${n % 2 ? n % 5000 : `${run}-${n}`}@customer.example`,
                  }).toString();
                  return { ...req, body };
                },
              },
            ],
          }),
        );
      }
    }

    console.log(
      '\n| Page | requests/s | p50 ms | p99 ms | requests | unexpected | DB tx/request ≈ | KB/response | CPU ms/request app/db/bench |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      console.log(
        `| ${r.name} | ${Math.round(r.rps).toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.requests.toLocaleString('en')} | ` +
          `${r.unexpected} | ${r.txPerRequest.toFixed(1)} | ${(r.bytes / 1024).toFixed(1)} | ` +
          `${r.cpu.app.toFixed(2)} / ${r.cpu.db.toFixed(2)} / ${r.cpu.bench.toFixed(2)} |`,
      );
    }
    for (const r of results) if (r.unexpected) console.log(`  ${r.name}: statuses ${r.detail}`);
    const busy = results.filter((r) => r.otherCpu > 0.1);
    if (busy.length) {
      console.log(
        `\nWarning: other processes used ${busy.map((r) => `${Math.round(r.otherCpu * 100)}%`).join(', ')} of the ` +
          `machine's CPU during ${busy.map((r) => r.name).join(', ')}: those figures are low. Run again on a quiet machine.`,
      );
    }

    // The queue's SQL as the app runs it (default filter: tickets that need work, anyone's).
    const explain = queueExplainSql({ id: benchUserId }, { statuses: ACTIVE_STATUSES, assignee: 'anyone' });
    const { rows: plan } = await pool.query<{ 'QUERY PLAN': string }>({
      text: `EXPLAIN (ANALYZE, BUFFERS) ${explain.text}`,
      values: explain.values,
    });
    console.log('\nEXPLAIN (ANALYZE, BUFFERS) of the default queue page:\n');
    console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
    if (results.some((r) => r.unexpected)) process.exitCode = 1;
  } finally {
    await app?.stop();
    await pool.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error('Bench failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
