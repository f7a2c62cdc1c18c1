// Worker threads for work whose cost a stranger or a user's text decides (decoding inbound mail,
// trimming its quotes, rendering Markdown, comparing revisions): the web app shares its event loop
// with every request, so that work runs in a piscina pool, one task per worker at a time, each
// worker with memory limits. This is a thin layer over piscina that gives every task:
// - a time limit from its start (and an optional deadline): past it the task is aborted, and
//   piscina ends the worker running it (a new one starts for the next task);
// - a longest wait before it starts (a worker's start included): a task still waiting then is
//   not run at all ('expired'), and the caller falls back to something cheaper;
// - a queue limit: a task finding too many waiting is refused at once ('overloaded').
// Every task gets an Outcome, never an exception. Workers start on demand, are ended when idle,
// and never keep the process alive.
//
// A worker runs boot.mjs, which loads the handler module (its default export takes a task's input
// and returns its result, or a promise of it) and says when each task starts, so that the time
// limit counts from there. The handler is TypeScript in development, tests and `npm start` (run by
// tsx), JavaScript when compiled: boot.mjs loads it with tsx's `tsImport` when it is TypeScript
// (a worker started from a vitest fork cannot load .ts by itself).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits, Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { logError } from '../log.js';

/** Why a task gave no value. */
export type Failure =
  /** It ran past its time limit or deadline: the worker was ended. */
  | 'timeout'
  /** It was not started before its longest wait or deadline. */
  | 'expired'
  /** Too many tasks were waiting: not queued. */
  | 'overloaded'
  /** It threw, ran out of memory, or its worker died. */
  | 'failed'
  /** No worker could start. */
  | 'unavailable'
  /** The pool was stopped. */
  | 'stopped';

export type Failed = { ok: false; reason: Failure; message: string };
export type Outcome<T> = { ok: true; value: T } | Failed;

export interface PoolOptions {
  /** For messages and log lines. */
  name: string;
  /** The handler module (a .ts module beside its caller: import.meta.url based). */
  handler: URL;
  /** Worker threads at most (started on demand). */
  maxThreads: number;
  /** Tasks waiting for a worker at most; more are refused at once ('overloaded'). */
  maxQueue: number;
  resourceLimits: ResourceLimits;
  /** How long an idle worker is kept, in ms (default a minute). */
  idleTimeoutMs?: number;
}

export interface RunOptions {
  /** Longest a started task may run, in ms. */
  timeoutMs: number;
  /** Longest a task may wait to start, in ms (a worker's start included). */
  maxWaitMs?: number;
  /** Epoch ms: not started after this, and stopped at it. */
  deadline?: number;
  transfer?: Transferable[];
}

/** What boot.mjs posts when a task starts. */
export const STARTED = 'caseboard:task-started';

interface Tracked {
  opts: RunOptions;
  started: boolean;
  timer?: NodeJS.Timeout;
  /** Set when this layer ends the task (why). */
  failure?: Failed;
  controller: AbortController;
}

const BOOT = fileURLToPath(new URL('./boot.mjs', import.meta.url));

/** tsx's ESM API (`tsImport`), found through its package's exports (its CommonJS build cannot load it). */
function tsxApi(): string {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
}

/** An error from a worker as one line: "RangeError: Maximum call stack size exceeded". */
function describe(err: unknown): string {
  if ((err as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'ran out of memory';
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]}`;
  return String(err);
}

export class WorkerPool {
  private readonly piscina: Piscina;
  private readonly tasks = new Map<number, Tracked>();
  private nextId = 1;
  private waitingCount = 0;
  private stopped = false;

  constructor(private readonly options: PoolOptions) {
    const entry = options.handler.href;
    this.piscina = new Piscina({
      filename: BOOT,
      workerData: { entry, tsx: entry.endsWith('.ts') ? tsxApi() : null },
      minThreads: 0,
      maxThreads: options.maxThreads,
      maxQueue: options.maxQueue,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      resourceLimits: options.resourceLimits,
      recordTiming: false,
    });
    this.piscina.on('message', (msg: unknown) => {
      if (msg && typeof msg === 'object' && STARTED in msg) this.started((msg as Record<typeof STARTED, number>)[STARTED]);
    });
    // An error outside any task: a worker that could not start (its module failed to load, or
    // its memory limit was too small). Answer what waits rather than let it wait for nothing.
    this.piscina.on('error', (err: unknown) => {
      const message = `${options.name}: a worker could not start (${describe(err)})`;
      logError(`[workers] ${message}`);
      for (const task of this.tasks.values()) if (!task.started) this.end(task, { ok: false, reason: 'unavailable', message });
    });
  }

  /** Tasks waiting for a worker (for tests and logs). */
  get waiting(): number {
    return this.waitingCount;
  }

  async run<T>(input: unknown, opts: RunOptions): Promise<Outcome<T>> {
    if (this.stopped) return this.stoppedOutcome();
    if (this.waitingCount >= this.options.maxQueue) {
      return { ok: false, reason: 'overloaded', message: `${this.options.name}: ${this.waitingCount} tasks waiting` };
    }
    const id = this.nextId++;
    const task: Tracked = { opts, started: false, controller: new AbortController() };
    this.tasks.set(id, task);
    this.waitingCount++;
    const startBy = Math.min(opts.deadline ?? Infinity, opts.maxWaitMs === undefined ? Infinity : Date.now() + opts.maxWaitMs);
    if (startBy !== Infinity) {
      const wait = Math.max(0, startBy - Date.now());
      task.timer = setTimeout(() => {
        this.end(task, { ok: false, reason: 'expired', message: `${this.options.name}: no worker was free within ${Math.round(wait)} ms` });
      }, wait).unref();
    }
    try {
      const value = (await this.piscina.run({ id, input }, { signal: task.controller.signal, transferList: opts.transfer })) as T;
      return task.failure ?? { ok: true, value };
    } catch (err) {
      if (task.failure) return task.failure;
      if (this.stopped) return this.stoppedOutcome();
      return { ok: false, reason: 'failed', message: describe(err) };
    } finally {
      clearTimeout(task.timer);
      if (!task.started) this.waitingCount--;
      this.tasks.delete(id);
    }
  }

  /** Ends every worker; waiting and running tasks get 'stopped'. A stopped pool takes nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.piscina.destroy();
  }

  private stoppedOutcome(): Failed {
    return { ok: false, reason: 'stopped', message: `${this.options.name}: stopped` };
  }

  /** A worker took the task: its time limit (and deadline) count from now. */
  private started(id: number): void {
    const task = this.tasks.get(id);
    if (!task || task.started || task.failure) return;
    task.started = true;
    this.waitingCount--;
    clearTimeout(task.timer);
    const { timeoutMs, deadline } = task.opts;
    const limit = Math.min(timeoutMs, deadline === undefined ? Infinity : Math.max(0, deadline - Date.now()));
    task.timer = setTimeout(() => {
      logError(`[workers] ${this.options.name}: a task ran over ${Math.round(limit)} ms: its worker is ended`);
      this.end(task, { ok: false, reason: 'timeout', message: `took longer than ${Math.round(limit)} ms` });
    }, limit).unref();
  }

  /** Ends a task with this outcome: piscina takes it off the queue, or ends the worker running it. */
  private end(task: Tracked, outcome: Failed): void {
    if (task.failure) return;
    task.failure = outcome;
    clearTimeout(task.timer);
    task.controller.abort(outcome.message);
  }
}
