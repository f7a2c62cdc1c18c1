// A small pool of worker threads for work whose cost a stranger controls: decoding an inbound
// message (mailparser: a 9 MB message held the event loop ~0.5 s) and trimming its quotes
// (email-reply-parser backtracks: seconds). The web app shares the main thread, so that work
// runs here, each task with a time limit (past it the worker is ended and replaced) and an
// optional deadline (a task still waiting then is not started: the caller falls back to
// something cheaper), and each worker with memory limits.
import { Worker, type ResourceLimits, type Transferable } from 'node:worker_threads';

export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'timeout' | 'expired' | 'failed' | 'overloaded' | 'stopped'; message: string };

export interface PoolOptions {
  /** For log lines. */
  name: string;
  /** CommonJS source run in each worker (eval): it answers each message with { ok, value } or { ok: false, error }. */
  source: string;
  workerData?: unknown;
  /** Workers at most (started on demand). */
  size: number;
  /** Tasks waiting beyond this are refused at once ('overloaded'). */
  maxQueue: number;
  resourceLimits: ResourceLimits;
}

export interface RunOptions {
  /** Longest a started task may run. */
  timeoutMs: number;
  /** Epoch ms: not started after this, and stopped at it. */
  deadline?: number;
  transfer?: Transferable[];
}

interface Pending {
  input: unknown;
  opts: RunOptions;
  resolve: (o: Outcome<unknown>) => void;
  expiry?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  /** The task it runs, if any. */
  current: ((o: Outcome<unknown>) => void) | null;
}

export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private stopped = false;

  constructor(private readonly options: PoolOptions) {}

  /** Tasks waiting for a worker (for tests and logs). */
  get waiting(): number {
    return this.queue.length;
  }

  run<T>(input: unknown, opts: RunOptions): Promise<Outcome<T>> {
    return new Promise<Outcome<unknown>>((resolve) => {
      if (this.stopped) return resolve({ ok: false, reason: 'stopped', message: `${this.options.name}: stopped` });
      if (this.queue.length >= this.options.maxQueue) {
        return resolve({ ok: false, reason: 'overloaded', message: `${this.options.name}: ${this.queue.length} tasks waiting` });
      }
      const pending: Pending = { input, opts, resolve };
      if (opts.deadline !== undefined) {
        pending.expiry = setTimeout(() => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return;
          this.queue.splice(at, 1);
          resolve({ ok: false, reason: 'expired', message: `${this.options.name}: not started before its deadline` });
        }, Math.max(0, opts.deadline - Date.now()));
        pending.expiry.unref();
      }
      this.queue.push(pending);
      this.pump();
    }) as Promise<Outcome<T>>;
  }

  /** Ends every worker; waiting and running tasks get 'stopped'. A stopped pool takes nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.expiry);
      p.resolve({ ok: false, reason: 'stopped', message: `${this.options.name}: stopped` });
    }
    const slots = [...this.slots];
    this.slots.clear();
    for (const s of slots) s.current?.({ ok: false, reason: 'stopped', message: `${this.options.name}: stopped` });
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.source, {
      eval: true,
      workerData: this.options.workerData,
      resourceLimits: this.options.resourceLimits,
    });
    worker.unref(); // never keeps the process alive
    const slot: Slot = { worker, current: null };
    worker.on('message', (msg: { ok: boolean; value?: unknown; error?: string }) => {
      const done = slot.current;
      slot.current = null;
      done?.(msg.ok ? { ok: true, value: msg.value } : { ok: false, reason: 'failed', message: msg.error ?? 'failed' });
      this.pump();
    });
    const lost = (why: string) => {
      if (!this.slots.delete(slot)) return;
      const done = slot.current;
      slot.current = null;
      done?.({ ok: false, reason: 'failed', message: `${this.options.name}: ${why}` });
      this.pump();
    };
    // An uncaught error or the memory limit (ERR_WORKER_OUT_OF_MEMORY) ends the worker.
    worker.on('error', (err) => {
      console.error(`[inbound] ${this.options.name} worker failed: ${err.message}`);
      lost(err.message);
    });
    worker.on('exit', (code) => lost(`worker exited (${code})`));
    this.slots.add(slot);
    return slot;
  }

  private pump(): void {
    while (!this.stopped && this.queue.length > 0) {
      let slot = [...this.slots].find((s) => s.current === null);
      if (!slot) {
        if (this.slots.size >= this.options.size) return;
        slot = this.spawn();
      }
      const pending = this.queue.shift()!;
      clearTimeout(pending.expiry);
      this.dispatch(slot, pending);
    }
  }

  private dispatch(slot: Slot, { input, opts, resolve }: Pending): void {
    const limit = Math.min(opts.timeoutMs, opts.deadline === undefined ? Infinity : Math.max(0, opts.deadline - Date.now()));
    const timer = setTimeout(() => {
      if (slot.current !== finish) return;
      slot.current = null;
      this.slots.delete(slot);
      void slot.worker.terminate();
      resolve({ ok: false, reason: 'timeout', message: `${this.options.name}: stopped after ${Math.round(limit)} ms` });
      this.pump();
    }, limit);
    timer.unref();
    const finish = (o: Outcome<unknown>) => {
      clearTimeout(timer);
      resolve(o);
    };
    slot.current = finish;
    slot.worker.postMessage(input, opts.transfer ?? []);
  }
}
