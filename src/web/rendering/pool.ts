// A few worker threads for work whose cost a user's text decides (Markdown rendering, comparing
// revisions): the web app shares its event loop with every request, so that work runs here, one
// task per worker at a time, each with a time limit and a memory limit. A task past its time is
// stopped by ending its worker (a new one starts for the next task); a task that cannot get a
// worker soon enough, or finds the queue full, is not run at all. The caller always gets an answer
// within the longest wait plus the time limit (three times the limit by default), and decides
// what to show instead.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export type Task =
  | { kind: 'markdown'; source: string }
  | { kind: 'lines'; before: string; after: string; timeoutMs: number };
export interface Request {
  id: number;
  task: Task;
}
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/**
 * What became of a task. `timeout` and `error` (it threw, or ran out of memory) come from the text
 * itself: the same text would do it again. `unavailable` (no worker free in time, queue full,
 * the worker could not start) does not.
 */
export type Outcome =
  | { ok: true; value: unknown; ms: number }
  | { ok: false; reason: 'timeout' | 'error' | 'unavailable'; detail: string };

export interface PoolOptions {
  /** Worker threads at most. */
  size: number;
  /** Longest a task may run. */
  timeoutMs: number;
  /** Longest a task may wait for a worker (a worker's start included); default twice timeoutMs. */
  maxWaitMs?: number;
  /** Tasks waiting for a worker at most; more are refused at once. */
  maxQueue?: number;
  /** Heap of one worker (MB): past it the worker dies and its task is an error. */
  memoryMb?: number;
}

interface Job {
  id: number;
  task: Task;
  resolve: (o: Outcome) => void;
  waiting?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  started: number;
  timer?: NodeJS.Timeout;
  lastError?: string;
}

// The worker is TypeScript in development, tests and `npm start` (run by tsx), JavaScript when
// compiled: it is loaded the same way this module was.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;

/** tsx's ESM API (`tsImport`), found through its package's exports (its CommonJS build cannot load it). */
function tsxApi(): string {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
}
const BOOT = `
import { workerData } from 'node:worker_threads';
if (workerData.tsx) {
  const { tsImport } = await import(workerData.tsx);
  await tsImport(workerData.entry, workerData.entry);
} else {
  await import(workerData.entry);
}`;

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly maxQueue: number;
  private readonly memoryMb: number;
  private readonly maxWaitMs: number;

  constructor(private readonly opts: PoolOptions) {
    this.maxQueue = opts.maxQueue ?? 64;
    this.memoryMb = opts.memoryMb ?? 128;
    this.maxWaitMs = opts.maxWaitMs ?? 2 * opts.timeoutMs;
  }

  run(task: Task): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (this.closed) return resolve({ ok: false, reason: 'unavailable', detail: 'the renderer is stopped' });
      if (this.queue.length >= this.maxQueue) {
        return resolve({ ok: false, reason: 'unavailable', detail: 'too many texts waiting to be rendered' });
      }
      const job: Job = { id: this.nextId++, task, resolve };
      job.waiting = setTimeout(() => {
        const at = this.queue.indexOf(job);
        if (at >= 0) this.queue.splice(at, 1);
        resolve({ ok: false, reason: 'unavailable', detail: `no render worker was free within ${this.maxWaitMs} ms` });
      }, this.maxWaitMs);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Ends the workers; waiting tasks are answered `unavailable`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.waiting);
      job.resolve({ ok: false, reason: 'unavailable', detail: 'the renderer is stopped' });
    }
    await Promise.all(this.slots.splice(0).map((s) => this.end(s, { ok: false, reason: 'unavailable', detail: 'the renderer is stopped' })));
  }

  private pump(): void {
    while (this.queue.length) {
      const idle = this.slots.find((s) => s.ready && !s.job);
      if (idle) {
        this.assign(idle, this.queue.shift()!);
        continue;
      }
      const starting = this.slots.filter((s) => !s.ready).length;
      if (this.slots.length < this.opts.size && starting < this.queue.length) {
        this.spawn();
        continue;
      }
      return;
    }
  }

  private assign(slot: Slot, job: Job): void {
    clearTimeout(job.waiting);
    slot.job = job;
    slot.started = performance.now();
    slot.timer = setTimeout(() => {
      console.error(`[render] a ${job.task.kind} task ran over ${this.opts.timeoutMs} ms: worker stopped`);
      void this.end(slot, { ok: false, reason: 'timeout', detail: `took longer than ${this.opts.timeoutMs} ms` });
      this.pump();
    }, this.opts.timeoutMs);
    slot.worker.postMessage({ id: job.id, task: job.task } satisfies Request);
  }

  private spawn(): void {
    let worker: Worker;
    try {
      const tsx = WORKER_URL.endsWith('.ts') ? tsxApi() : null;
      worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(BOOT)}`), {
        workerData: { entry: WORKER_URL, tsx },
        resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: 16 },
      });
    } catch (err) {
      console.error(`[render] the render worker could not start: ${(err as Error).message}`);
      for (const job of this.queue.splice(0)) {
        clearTimeout(job.waiting);
        job.resolve({ ok: false, reason: 'unavailable', detail: 'the render worker could not start' });
      }
      return;
    }
    worker.unref(); // never keeps the process alive
    const slot: Slot = { worker, ready: false, job: null, started: 0 };
    this.slots.push(slot);
    worker.on('message', (msg: Reply | 'ready') => {
      if (msg === 'ready') {
        slot.ready = true;
        return this.pump();
      }
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      clearTimeout(slot.timer);
      slot.job = null;
      job.resolve(msg.ok ? { ok: true, value: msg.value, ms: performance.now() - slot.started } : { ok: false, reason: 'error', detail: msg.error });
      this.pump();
    });
    worker.on('error', (err) => {
      slot.lastError = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : err.message;
    });
    worker.on('exit', () => {
      const at = this.slots.indexOf(slot);
      if (at < 0) return; // ended by us
      this.slots.splice(at, 1);
      clearTimeout(slot.timer);
      const detail = slot.lastError ?? 'the render worker stopped';
      if (slot.job) {
        console.error(`[render] a ${slot.job.task.kind} task failed: ${detail}`);
        slot.job.resolve({ ok: false, reason: 'error', detail });
        slot.job = null;
      } else if (!slot.ready) {
        // It could not start: answer what waits rather than start workers in a loop.
        console.error(`[render] the render worker could not start: ${detail}`);
        for (const job of this.queue.splice(0)) {
          clearTimeout(job.waiting);
          job.resolve({ ok: false, reason: 'unavailable', detail });
        }
      }
      this.pump();
    });
  }

  private async end(slot: Slot, outcome: Outcome): Promise<void> {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = null;
    job?.resolve(outcome);
    await slot.worker.terminate();
  }
}
