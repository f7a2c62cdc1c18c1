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
// The throttle is shared by every instance: one upsert on a PostgreSQL counter per project key
// and minute (ErrorRateWindow). Past the limit the intake answers 429 with Retry-After and
// X-Sentry-Rate-Limits (the SDK then stops sending until then).
import type { Db } from '../../db/client.js';
import type { ErrorProject } from '../../generated/prisma/client.js';
import type { ReportedEvent } from './event.js';
import { EVENTS_KEPT, recordProblemBatch, type ProblemBatch, type RecordedProblem } from './record.js';

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
 * Counts `n` events for the project's key in the current minute, on every instance together; not
 * allowed past its limit.
 */
export async function throttle(db: Db, project: ErrorProject, n: number, defaultLimit: number): Promise<Throttle> {
  const [row] = await db.$queryRaw<{ count: number; secs: number }[]>`
    INSERT INTO "ErrorRateWindow" ("projectId", "windowStart", count) VALUES (${project.id}, date_trunc('minute', now()), ${n})
    ON CONFLICT ("projectId", "windowStart") DO UPDATE SET count = "ErrorRateWindow".count + excluded.count
    RETURNING count, (60 - extract(second FROM now()))::int AS secs`;
  const limit = project.perMinute ?? defaultLimit;
  return { allowed: row!.count <= limit, retryAfter: Math.max(1, row!.secs) };
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
          console.error(`[caseboard] could not record ${p.batch.count} error events of project ${p.batch.project.id}:`, (err as Error).message);
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
      console.error(`[caseboard] dropped ${p.batch.count} error events of project ${p.batch.project.id} after ${attempts} failed writes`);
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
