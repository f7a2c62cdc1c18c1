// Fault tests: the real server process (`tsx src/server.ts`) on a PostgreSQL 15 cluster of the
// test's own, with technicians writing through the web pages while
//   1. the app is killed with SIGKILL and restarted, again and again: every acknowledged write
//      must be in the database afterwards, and nothing may be half-written;
//   2. PostgreSQL is restarted, crashed and kept away for seconds under the running app: requests
//      get a clear error page quickly, and the app recovers by itself when the database is back.
// The figures go to the console and to tests/faults/artifacts/last-run.txt.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppProcess } from './lib/app-process.js';
import { Browser } from './lib/browser.js';
import { freePort, PgCluster, type StopMode } from './lib/pg-cluster.js';
import { Prober, type Sample } from './lib/prober.js';
import { pad, secs, writeFigures } from './lib/report.js';
import { verify } from './lib/verify.js';
import { Ledger, Writer, prng, sleep } from './lib/writers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = join(ROOT, 'tests/faults/artifacts');
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000_000);
const RUN_ID = SEED.toString(36);
const rng = prng(SEED);

const ADMIN = { email: 'faults-admin@example.com', password: 'faults-admin-password-1' };
const WRITERS = 8;
const KILLS = 5;
/** On a loaded machine (slow restarts) the last kill is left out once the phase has run this long. */
const KILL_PHASE_BUDGET_MS = 60_000;
/** A request that takes longer than this while the database is away counts as a hang. */
const ERROR_BOUND_MS = 5_000;
/** The app must serve again this soon after the database answers. */
const RECOVERY_BOUND_MS = 15_000;
const LONG_OUTAGE_MS = 5_000;

const began = Date.now();
const report: string[] = [];
let cluster: PgCluster | null = null;
let clusterDescription = 'no PostgreSQL cluster';
const apps: AppProcess[] = [];
const dataDirs: string[] = [];


async function newApp(name: string, databaseUrl: string): Promise<AppProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `caseboard-faults-${name}-`));
  dataDirs.push(dataDir);
  const app = new AppProcess({
    root: ROOT,
    port: await freePort(),
    databaseUrl,
    dataDir,
    adminEmail: ADMIN.email,
    adminPassword: ADMIN.password,
    logFile: join(ARTIFACTS, `app-${name}.log`),
  });
  apps.push(app);
  return app;
}

function outsideNote(app: AppProcess): string {
  const n = app.terminatedFromOutside.length;
  return n ? ` (+${n} ended by a signal from outside the test: ${app.terminatedFromOutside.map((e) => e.signal).join(', ')})` : '';
}

function cleanupSync(): void {
  for (const app of apps) app.killSync();
  cluster?.destroySync();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
}

function writeReport(): string {
  const text = [
    `Caseboard fault tests — ${new Date(began).toISOString()} (seed ${SEED}; FAULTS_SEED=${SEED} replays the writers' choices)`,
    clusterDescription,
    '',
    ...report,
    '',
    `total time ${secs(Date.now() - began)}`,
  ].join('\n');
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'last-run.txt'), text + '\n');
  return text;
}

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  process.once('exit', cleanupSync);
  cluster = await PgCluster.create();
  clusterDescription = cluster.describe();
});

afterAll(async () => {
  for (const app of apps) await app.stop().catch(() => app.killSync());
  if (cluster) {
    try {
      copyFileSync(cluster.logFile, join(ARTIFACTS, 'postgres.log'));
    } catch {
      // no log
    }
  }
  cleanupSync();
  cluster = null;
  const text = writeReport();
  console.log(`\n${text}\n(also in ${join(ARTIFACTS, 'last-run.txt')})\n`);
});

describe('fault tolerance', () => {
  test(`acknowledged writes survive the app being killed (SIGKILL, ${KILLS - 1}–${KILLS} times) under ${WRITERS} writers`, async () => {
    const url = await cluster!.createDatabase('caseboard_crash');
    const app = await newApp('crash', url);
    const startMs = [await app.start()];
    const requestsBefore = { ...Browser.counts };
    const ledger = new Ledger();
    const writers = Array.from(
      { length: WRITERS },
      (_, i) =>
        new Writer({ id: i + 1, baseUrl: app.baseUrl, ...ADMIN, runId: RUN_ID, ledger, rng: prng(SEED + i + 1) }),
    );
    report.push('1. App process killed with SIGKILL and restarted, under load');
    let verification = null;
    const kills: number[] = [];
    const ackedLastSecond: number[] = [];
    try {
      for (const w of writers) w.start();
      const phaseStart = Date.now();
      for (let k = 0; k < KILLS; k++) {
        if (k >= KILLS - 1 && Date.now() - phaseStart > KILL_PHASE_BUDGET_MS) break;
        await sleep(2_000 + rng() * 2_000);
        const before = Date.now();
        const recent = [...ledger.creates, ...ledger.urgencies, ...ledger.worklogs].filter((a) => a.at >= before - 1_000).length;
        await app.kill9();
        kills.push(Date.now());
        ackedLastSecond.push(recent);
        startMs.push(await app.start());
      }
      await sleep(2_000);
    } finally {
      await Promise.all(writers.map((w) => w.stop()));
      await app.stop();
      verification = await verify(url, ledger).catch((err: unknown) => {
        report.push(`  verification failed: ${String(err)}`);
        return null;
      });
      report.push(
        `   ${pad('writers')}${WRITERS} (one technician account, a cookie jar each)`,
        `   ${pad('HTTP requests sent (pages and writes)')}${Browser.counts.sent - requestsBefore.sent}, answered ${Browser.counts.answered - requestsBefore.answered}`,
        `   ${pad('kills (SIGKILL to the process group)')}${kills.length}, every 2–4 s; writes acknowledged in the second before each: ${ackedLastSecond.join(', ')}`,
        `   ${pad('restarts')}${startMs.length - 1}; start to /health ok: ${startMs.map((m) => secs(m)).join(', ')}`,
        `   ${pad('exits not caused by the test')}${app.crashes.length}${outsideNote(app)}`,
        ...(app.deathNote()?.split('\n').map((l) => `     | ${l.slice(0, 160)}`) ?? []),
        ...writeFigures(ledger, verification).map((l) => `   ${l}`),
        '',
      );
    }
    expect(kills.length).toBeGreaterThanOrEqual(KILLS - 1);
    expect(app.crashes).toEqual([]);
    expect(ledger.unexpected).toEqual([]);
    // Load really ran across the kills (a broken app acknowledging nothing must not pass).
    expect(ledger.creates.length).toBeGreaterThan(20);
    expect(ledger.urgencies.length + ledger.worklogs.length).toBeGreaterThan(10);
    expect(verification).not.toBeNull();
    expect(verification!.missing).toEqual([]);
    expect(verification!.problems).toEqual([]);
    expect(verification!.found.total).toBe(ledger.totalAcked);
  });

  test('the running app rides out PostgreSQL restarts, a crash and an outage, and recovers by itself', async () => {
    const url = await cluster!.createDatabase('caseboard_dbrestart');
    const app = await newApp('dbrestart', url);
    await app.start();
    const pid = app.pid;
    const requestsBefore = { ...Browser.counts };
    const ledger = new Ledger();
    const writers = Array.from(
      { length: 4 },
      (_, i) =>
        new Writer({ id: 101 + i, baseUrl: app.baseUrl, ...ADMIN, runId: RUN_ID, ledger, rng: prng(SEED + 101 + i) }),
    );
    const prober = new Prober({ baseUrl: app.baseUrl, ...ADMIN, runId: RUN_ID, ledger });
    const phases: { name: string; mode: StopMode; downMs: number }[] = [
      { name: 'restart (stop -m fast, start)', mode: 'fast', downMs: 0 },
      { name: 'crash (stop -m immediate, start: WAL recovery)', mode: 'immediate', downMs: 0 },
      { name: `outage of ${LONG_OUTAGE_MS / 1000} s (stop -m fast … start)`, mode: 'fast', downMs: LONG_OUTAGE_MS },
    ];
    interface PhaseResult {
      name: string;
      down: number;
      stopAt: number;
      readyAt: number;
      recovery: { page: number | null; create: number | null };
      failures: Sample[];
      outageSamples: Sample[];
    }
    const results: PhaseResult[] = [];
    let verification = null;
    let alive = false;
    let t0 = Date.now();
    report.push(`2. PostgreSQL restarted under the running app (no app restart), 4 writers and a prober`);
    try {
      for (const w of writers) w.start();
      t0 = Date.now();
      prober.start();
      await prober.ready();
      for (const phase of phases) {
        await sleep(1_500);
        const stopAt = Date.now();
        await cluster!.stop(phase.mode);
        const stoppedAt = Date.now();
        await sleep(phase.downMs);
        const startAt = Date.now();
        const readyAt = await cluster!.start();
        const recovery = await prober.waitRecovered(readyAt, RECOVERY_BOUND_MS);
        const during = prober.samples.filter((s) => s.start >= stopAt && s.end <= readyAt);
        results.push({
          name: phase.name,
          down: readyAt - stopAt,
          stopAt,
          readyAt,
          recovery,
          failures: during.filter((s) => !s.ok),
          // Requests sent and answered while the server was fully down.
          outageSamples: prober.samples.filter((s) => s.start >= stoppedAt && s.end <= startAt),
        });
        if (recovery.page === null || recovery.create === null) break;
      }
      await sleep(1_000);
    } finally {
      await prober.stop();
      await Promise.all(writers.map((w) => w.stop()));
      alive = app.pid === pid && app.running;
      await app.stop();
      verification = await verify(url, ledger).catch((err: unknown) => {
        report.push(`  verification failed: ${String(err)}`);
        return null;
      });
      const allSamples = prober.samples;
      const errorTimes = [
        ...allSamples.filter((s) => !s.ok).map((s) => s.ms),
        ...ledger.errorAnswers.map((e) => e.ms),
      ];
      report.push(`   ${pad('app process')}pid ${pid}, ${alive ? 'same process throughout' : 'NOT the same process at the end'}; exits not caused by the test: ${app.crashes.length}${outsideNote(app)}`);
      const death = app.deathNote();
      if (death) report.push(...death.split('\n').map((l) => `     | ${l.slice(0, 160)}`));
      report.push(`   ${pad('phase')}${'down'.padEnd(9)}${'first page'.padEnd(12)}${'first create'.padEnd(14)}errors seen meanwhile`);
      for (const r of results) {
        const statuses = new Map<string, number>();
        for (const f of r.failures) statuses.set(String(f.status || 'no answer'), (statuses.get(String(f.status || 'no answer')) ?? 0) + 1);
        report.push(
          `   ${pad(r.name)}${secs(r.down).padEnd(9)}${secs(r.recovery.page).padEnd(12)}${secs(r.recovery.create).padEnd(14)}` +
            ([...statuses].map(([s, n]) => `${s}×${n}`).join(' ') || 'none'),
        );
      }
      report.push(`   ${pad('time to recover after the DB is ready')}page ${results.map((r) => secs(r.recovery.page)).join(' / ')}; create ${results.map((r) => secs(r.recovery.create)).join(' / ')}`);
      const longOutage = results.find((r) => r.name.startsWith('outage'))?.outageSamples;
      report.push(`   ${pad('HTTP requests sent (pages and writes)')}${Browser.counts.sent - requestsBefore.sent}, answered ${Browser.counts.answered - requestsBefore.answered}`);
      report.push(
        `   ${pad(`while the DB was down ${LONG_OUTAGE_MS / 1000} s`)}` +
          (longOutage
            ? `${longOutage.length} probe requests, ${longOutage.filter((x) => x.status >= 500).length} answered 5xx, ` +
              `${longOutage.filter((x) => x.status === 0).length} unanswered; longest ${longOutage.length ? Math.max(...longOutage.map((x) => x.ms)) : 0} ms`
            : 'not reached'),
      );
      report.push(`   ${pad('longest error response')}${errorTimes.length ? `${Math.max(...errorTimes)} ms` : 'n/a'} (over ${errorTimes.length} error answers; bound ${ERROR_BOUND_MS} ms)`);
      const messages = new Map<string, number>();
      for (const s of allSamples.filter((x) => !x.ok)) messages.set(`${s.kind} ${s.status}: ${s.message}`, (messages.get(`${s.kind} ${s.status}: ${s.message}`) ?? 0) + 1);
      for (const e of ledger.errorAnswers) messages.set(`writer ${e.status}: ${e.message}`, (messages.get(`writer ${e.status}: ${e.message}`) ?? 0) + 1);
      const marks = results.map((r) => `${r.name.split(' ')[0]} +${secs(r.stopAt - t0)}…+${secs(r.readyAt - t0)}`).join(', ');
      report.push(`   ${pad('prober sessions')}${prober.eventSummary(t0)}`);
      report.push(`   ${pad('database down (from prober start)')}${marks}`);
      report.push(`   error answers seen (kind status: message ×count):`);
      for (const [m, n] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 12)) report.push(`     ${m.slice(0, 150)} ×${n}`);
      report.push(...writeFigures(ledger, verification).map((l) => `   ${l}`), '');
    }
    expect(app.terminatedFromOutside, 'another process on this machine sent the app a signal: run again').toEqual([]);
    expect(alive, 'the app process must survive the database restarts (no crash, no restart)').toBe(true);
    expect(app.crashes).toEqual([]);
    expect(results).toHaveLength(phases.length);
    for (const r of results) {
      expect(r.recovery.page, `${r.name}: the app did not serve a page again by itself within ${RECOVERY_BOUND_MS} ms`).not.toBeNull();
      expect(r.recovery.create, `${r.name}: the app did not create a ticket again by itself within ${RECOVERY_BOUND_MS} ms`).not.toBeNull();
    }
    // During the outage: a clear error page, fast, from a live process; /health says unavailable.
    const outage = results[2]!.outageSamples;
    expect(outage.filter((s) => s.kind === 'page').length).toBeGreaterThan(10);
    for (const s of outage) {
      expect(s.ok, `${s.kind} succeeded with the database down?`).toBe(false);
      expect(s.status, `${s.kind}: ${s.message}`).toBeGreaterThanOrEqual(500);
      expect(s.ms).toBeLessThanOrEqual(ERROR_BOUND_MS);
      if (s.kind === 'health') expect(s.message).toContain('unavailable');
      else {
        // "Service unavailable" with a message that says what is wrong, not an unexplained 500.
        expect(s.status, `${s.kind}: ${s.message}`).toBe(503);
        expect(s.message, `${s.kind} ${s.status} without a readable error page`).toMatch(/: .{10,}/);
      }
    }
    for (const s of prober.samples) expect(s.ms, `${s.kind} took ${s.ms} ms (${s.message})`).toBeLessThanOrEqual(ERROR_BOUND_MS);
    for (const e of ledger.errorAnswers) {
      expect(e.ms).toBeLessThanOrEqual(ERROR_BOUND_MS);
      expect(e.message, `${e.method} ${e.path} ${e.status}`).toMatch(/: .{10,}/);
    }
    expect(ledger.unexpected).toEqual([]);
    expect(verification).not.toBeNull();
    expect(verification!.missing).toEqual([]);
    expect(verification!.problems).toEqual([]);
    expect(verification!.found.total).toBe(ledger.totalAcked);
  });
});
