// The shared worker pool (src/workers/pool.ts, over piscina): every task gets an Outcome within
// its wait and its time limit, whatever the task does, and a stopped or broken pool answers at once.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool, type PoolOptions } from '../../src/workers/pool.js';
import type { Task } from './fixtures/pool-task.js';

const pools: WorkerPool[] = [];
function pool(opts: Partial<PoolOptions> = {}): WorkerPool {
  const p = new WorkerPool({
    name: 'test',
    handler: new URL('./fixtures/pool-task.ts', import.meta.url),
    maxThreads: 1,
    maxQueue: 10,
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    ...opts,
  });
  pools.push(p);
  return p;
}
const run = (p: WorkerPool, task: Task, opts: Parameters<WorkerPool['run']>[1] = { timeoutMs: 5000 }) => p.run(task, opts);
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

describe('the worker pool', () => {
  it('gives a task its value, and a thrown error as one line', async () => {
    const p = pool();
    expect(await run(p, { kind: 'echo', value: { a: [1, 2] } })).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(await run(p, { kind: 'throw' })).toEqual({ ok: false, reason: 'failed', message: 'RangeError: Maximum call stack size exceeded' });
  });

  it('ends a task past its time limit, and the next task gets a new worker', async () => {
    const p = pool();
    const t = performance.now();
    const out = await run(p, { kind: 'spin', ms: 10_000 }, { timeoutMs: 300 });
    const ms = performance.now() - t;
    expect(out).toMatchObject({ ok: false, reason: 'timeout', message: 'took longer than 300 ms' });
    // A cold start (~0.4 s) and the limit, not the 10 s the task wanted.
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(3000);
    expect(await run(p, { kind: 'echo', value: 'next' })).toEqual({ ok: true, value: 'next' });
  });

  it('does not start a task after its longest wait, nor one past its deadline; and stops a running one at the deadline', async () => {
    const p = pool();
    await run(p, { kind: 'echo', value: 'warm' });
    const busy = run(p, { kind: 'spin', ms: 1500 });
    const t = performance.now();
    const waited = await run(p, { kind: 'echo', value: 'late' }, { timeoutMs: 5000, maxWaitMs: 200 });
    expect(waited).toMatchObject({ ok: false, reason: 'expired' });
    expect(performance.now() - t).toBeLessThan(1000);
    expect(await busy).toEqual({ ok: true, value: 'spun' });
    const cut = await run(p, { kind: 'spin', ms: 5000 }, { timeoutMs: 5000, deadline: Date.now() + 400 });
    expect(cut).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('refuses a task at once when its queue is full', async () => {
    const p = pool({ maxQueue: 2 });
    await run(p, { kind: 'echo', value: 'warm' });
    const running = run(p, { kind: 'spin', ms: 800 });
    await new Promise((r) => setTimeout(r, 100)); // started
    const queued = [run(p, { kind: 'echo', value: 1 }), run(p, { kind: 'echo', value: 2 })];
    expect(p.waiting).toBe(2);
    expect(await run(p, { kind: 'echo', value: 3 })).toMatchObject({ ok: false, reason: 'overloaded' });
    expect(await Promise.all([running, ...queued])).toEqual([
      { ok: true, value: 'spun' },
      { ok: true, value: 1 },
      { ok: true, value: 2 },
    ]);
    expect(p.waiting).toBe(0);
  });

  it('keeps its workers within their memory limit', async () => {
    const p = pool();
    expect(await run(p, { kind: 'hog' }, { timeoutMs: 20_000 })).toEqual({ ok: false, reason: 'failed', message: 'ran out of memory' });
    expect(await run(p, { kind: 'echo', value: 'after' })).toEqual({ ok: true, value: 'after' });
  });

  it('answers what waits when no worker can start, and a stopped pool answers at once', async () => {
    const broken = pool({ handler: new URL('./fixtures/pool-broken.ts', import.meta.url) });
    const t = performance.now();
    expect(await run(broken, { kind: 'echo', value: 1 })).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(performance.now() - t).toBeLessThan(4000);
    const p = pool();
    const running = run(p, { kind: 'spin', ms: 5000 });
    await new Promise((r) => setTimeout(r, 800));
    await p.stop();
    expect(await running).toMatchObject({ ok: false, reason: 'stopped' });
    expect(await run(p, { kind: 'echo', value: 1 })).toMatchObject({ ok: false, reason: 'stopped' });
  });
});
