// The intake of reported errors: events are grouped per problem in this process's memory and
// written every ERROR_FLUSH_MS (500 ms by default) as one transaction per problem (record.ts):
// a storm of 10,000 events of one problem in a minute is ~120 small transactions on one row,
// not 10,000, and the desk's pages do not feel it.
//
// What a crash loses: the events accepted in the last flush interval by the process that crashed
// (at most ERROR_FLUSH_MS of them; the SDK was already told they were accepted). A normal stop
// (SIGTERM, SIGINT) flushes first (server.ts). A failed flush (the database away) puts its
// batches back to be tried with the next one, while the buffer has room.
//
// The throttle is shared by every instance: a PostgreSQL counter per project key and minute
// (ErrorRateWindow), reserved in blocks (KeyThrottle). Past the limit the intake answers 429 with
// Retry-After and X-Sentry-Rate-Limits (the SDK then stops sending until then).
import type { Db } from '../../db/client.js';
import type { ErrorProject } from '../../generated/prisma/client.js';
import type { ReportedEvent } from './event.js';
import { EVENTS_KEPT, recordProblemBatch, type ProblemBatch, type RecordedProblem } from './record.js';
import { logError } from '../../log.js';

export interface IntakeOptions {
  /** How often the buffer is written (ms); 0: at once, per event (tests). */
  flushMs: number;
  /** Events per minute per project key when the project sets none. */
  perMinute: number;
  /** Problems waiting in the buffer at most: past it, events are refused (503) until a flush. */
  maxPending?: number;
}

/** A batch that failed this many writes is dropped (logged): one bad batch never blocks the rest for good. */
const MAX_ATTEMPTS = 3;

interface Pending {
  batch: ProblemBatch;
  /** Writes that failed so far. */
  attempts?: number;
  waiters: { resolve: (r: RecordedProblem) => void; reject: (e: unknown) => void }[];
}

/** The buffer is full: try again in a second. */
export class IntakeBusyError extends Error {}

export interface Throttle {
  allowed: boolean;
  /** Seconds until the window ends. */
  retryAfter: number;
}

/**
 * The throttle per project key, shared by every instance: a PostgreSQL counter per key and minute
 * (ErrorRateWindow), taken in blocks. Each process reserves a block of the window's allowance with
 * one upsert (1% of the limit, 1 to 100 events; at least the request's) and spends it locally, so
 * a storm costs one statement per block, not per event. Exact for small limits (a block of 1);
 * for large ones an instance may stop short of the limit by what it reserved and did not use (at
 * most 1% of the limit per instance and minute), never go past it.
 */
interface Lease {
  /** When the minute the block was reserved in ends (epoch ms, by the database's clock). */
  windowEnd: number;
  /** Events of the block not yet spent. */
  left: number;
  /** Nothing more to reserve this minute. */
  blocked: boolean;
  reserving?: Promise<void>;
}

export class KeyThrottle {
  private leases = new Map<number, Lease>();

  constructor(
    private readonly db: Db,
    private readonly defaultLimit: number,
  ) {}

  async take(project: ErrorProject, n: number): Promise<Throttle> {
    const limit = project.perMinute ?? this.defaultLimit;
    for (let round = 0; round < 3; round++) {
      const lease = this.leases.get(project.id);
      // One reservation at a time per key in this process: the others wait for it, then spend from it.
      if (lease?.reserving) {
        await lease.reserving;
        continue;
      }
      const now = Date.now();
      const current = lease && now < lease.windowEnd ? lease : undefined;
      if (current) {
        const retryAfter = Math.max(1, Math.ceil((current.windowEnd - now) / 1000));
        if (current.left >= n) {
          current.left -= n;
          return { allowed: true, retryAfter };
        }
        if (current.blocked) return { allowed: false, retryAfter };
      }
      await this.reserve(project.id, Math.max(n, Math.min(100, Math.floor(limit / 100))), limit, current);
    }
    // Still nothing after three reservations (many requests at once): this request's own.
    const granted = await this.upsert(project.id, n);
    return { allowed: granted.count <= limit, retryAfter: granted.retryAfter };
  }

  private reserve(projectId: number, block: number, limit: number, current?: Lease): Promise<void> {
    const entry: Lease = current ?? { windowEnd: 0, left: 0, blocked: false };
    this.leases.set(projectId, entry);
    entry.reserving = this.upsert(projectId, block)
      .then(({ count, windowEnd }) => {
        const granted = Math.max(0, Math.min(block, limit - (count - block)));
        if (windowEnd !== entry.windowEnd) {
          entry.left = 0;
          entry.blocked = false;
        }
        entry.windowEnd = windowEnd;
        entry.left += granted;
        // The allowance of this minute is used up: no more reservations until the window ends.
        if (granted < block) entry.blocked = true;
      })
      .finally(() => (entry.reserving = undefined));
    return entry.reserving;
  }

  private async upsert(projectId: number, n: number): Promise<{ count: number; windowEnd: number; retryAfter: number }> {
    const [row] = await this.db.$queryRaw<{ count: number; end: number; secs: number }[]>`
      INSERT INTO "ErrorRateWindow" ("projectId", "windowStart", count) VALUES (${projectId}, date_trunc('minute', now()), ${n})
      ON CONFLICT ("projectId", "windowStart") DO UPDATE SET count = "ErrorRateWindow".count + excluded.count
      RETURNING count, (extract(epoch FROM date_trunc('minute', now()) + interval '1 minute') * 1000)::float8 AS end,
                (60 - extract(second FROM now()))::int AS secs`;
    return { count: row!.count, windowEnd: row!.end, retryAfter: Math.max(1, row!.secs) };
  }
}

export class ErrorIntake {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly maxPending: number;

  constructor(
    private readonly db: Db,
    readonly options: IntakeOptions,
  ) {
    this.maxPending = options.maxPending ?? 1000;
    if (options.flushMs > 0) {
      this.timer = setInterval(() => void this.flush().catch(() => undefined), options.flushMs);
      this.timer.unref();
    }
  }

  /**
   * Takes one event of a project (IntakeBusyError, thrown: the buffer is full or the process is
   * stopping). The promise settles once it is written (the JSON endpoint waits for it to answer
   * with the ticket; the Sentry endpoints answer at once and ignore it).
   */
  accept(project: ErrorProject, event: ReportedEvent): Promise<RecordedProblem> {
    // Thrown, not a rejected promise: the caller answers 503 instead of accepting it silently.
    if (this.stopped) throw new IntakeBusyError('Shutting down.');
    const key = `${project.id}:${event.fingerprint}`;
    let entry = this.pending.get(key);
    if (!entry) {
      if (this.pending.size >= this.maxPending) throw new IntakeBusyError('Too many problems waiting to be written.');
      entry = {
        batch: { project, fingerprint: event.fingerprint, count: 0, firstSeen: event.receivedAt, lastSeen: event.receivedAt, releases: [], environments: [], kept: [] },
        waiters: [],
      };
      this.pending.set(key, entry);
    }
    const b = entry.batch;
    b.count++;
    if (event.receivedAt < b.firstSeen) b.firstSeen = event.receivedAt;
    if (event.receivedAt > b.lastSeen) b.lastSeen = event.receivedAt;
    if (event.release && !b.releases.includes(event.release) && b.releases.length < 50) b.releases.push(event.release);
    if (event.environment && !b.environments.includes(event.environment) && b.environments.length < 50) b.environments.push(event.environment);
    b.kept.push(event);
    if (b.kept.length > EVENTS_KEPT) b.kept.shift();
    const done = new Promise<RecordedProblem>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    // Nobody may wait: a failure is logged by flush, not left unhandled.
    done.catch(() => undefined);
    if (this.options.flushMs === 0) void this.flush().catch(() => undefined);
    return done;
  }

  /** Writes what is buffered (one flush at a time; a call during one waits for it, then writes the rest). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.pending.size === 0) return;
    const taken = [...this.pending.values()];
    this.pending = new Map();
    this.running = this.write(taken).finally(() => (this.running = undefined));
    await this.running;
  }

  private async write(taken: Pending[]): Promise<void> {
    // A few problems at once (each its own transaction and connection).
    const queue = [...taken];
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        try {
          const recorded = await recordProblemBatch(this.db, p.batch);
          for (const w of p.waiters) w.resolve(recorded);
        } catch (err) {
          logError(`[caseboard] could not record ${p.batch.count} error events of project ${p.batch.project.id}:`, (err as Error).message);
          this.putBack(p);
          // Those waiting are told now (the events stay buffered for the next flush, unless stopping).
          for (const w of p.waiters) w.reject(err);
          p.waiters = [];
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  }

  /** A batch that could not be written goes back to the buffer (merged with newer events of it). */
  private putBack(p: Pending): void {
    const attempts = (p.attempts ?? 0) + 1;
    if (this.stopped || attempts >= MAX_ATTEMPTS) {
      logError(`[caseboard] dropped ${p.batch.count} error events of project ${p.batch.project.id} after ${attempts} failed writes`);
      return;
    }
    const key = `${p.batch.project.id}:${p.batch.fingerprint}`;
    const newer = this.pending.get(key);
    if (!newer) {
      if (this.pending.size < this.maxPending) this.pending.set(key, { batch: p.batch, waiters: [], attempts });
      return;
    }
    newer.attempts = Math.max(newer.attempts ?? 0, attempts);
    const b = newer.batch;
    b.count += p.batch.count;
    if (p.batch.firstSeen < b.firstSeen) b.firstSeen = p.batch.firstSeen;
    b.releases = [...p.batch.releases, ...b.releases.filter((r) => !p.batch.releases.includes(r))].slice(0, 50);
    b.environments = [...p.batch.environments, ...b.environments.filter((r) => !p.batch.environments.includes(r))].slice(0, 50);
    b.kept = [...p.batch.kept, ...b.kept].slice(-EVENTS_KEPT);
  }

  /** At shutdown: no more events, and what is buffered is written. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.stopped = true;
  }
}
