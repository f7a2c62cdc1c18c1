// Bounded rendering for pages: Markdown → safe HTML and line-by-line comparisons run in worker
// threads (src/workers/pool.ts; the task is worker.ts) with a time limit, never on the event loop.
// Rendered Markdown is kept by content, in this process (a small LRU) and in PostgreSQL
// (RenderedMarkdown, shared by every instance), failures included: a text that cannot be rendered
// costs its time limit once per renderer version, not on every view. A page never fails because
// of a text: what cannot be rendered is shown as written, escaped, with a notice.
import { createHash } from 'node:crypto';
import type { Database } from '../../db/client.js';
import type { DiffPart } from '../presenters/diff.js';
import { RENDERER_ID, plainTextHtml } from '../presenters/markdown.js';
import { WorkerPool, type Outcome } from '../../workers/pool.js';
import type { Task } from './worker.js';
import { logError } from '../../log.js';

export interface RenderedText {
  /** Safe HTML: the rendered Markdown, or the escaped text as written. */
  html: string;
  /** False when `html` is the text as written (`failure` says why). */
  formatted: boolean;
  failure: string | null;
}

export type LineComparison = { parts: DiffPart[] } | { parts: null; reason: string };

export interface Renderer {
  markdown(source: string): Promise<RenderedText>;
  compareLines(before: string, after: string): Promise<LineComparison>;
  close(): Promise<void>;
}

export interface RendererOptions {
  /** Worker threads at most (RENDER_WORKERS). */
  workers: number;
  /** Longest one rendering or comparison may run, in ms (RENDER_TIMEOUT_MS). */
  timeoutMs: number;
}

/** Rendered HTML larger than this is not kept nor shown (a 100 KB text normally gives < 1 MB). */
const MAX_HTML_CHARS = 4 * 1024 * 1024;

/** A small in-process LRU in front of the database, limited in entries and in characters. */
class Lru<V extends { size: number }> {
  private readonly map = new Map<string, V>();
  private chars = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    if (v.size > this.maxChars / 4) return; // one huge text does not evict everything else
    const old = this.map.get(key);
    if (old) {
      this.chars -= old.size;
      this.map.delete(key);
    }
    this.map.set(key, v);
    this.chars += v.size;
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.map.delete(k);
      this.chars -= e.size;
    }
  }
}

interface Kept {
  html: string | null;
  failure: string | null;
  size: number;
  /** When it was rendered (or found not to render). */
  at: number;
}

/**
 * A text that could not be rendered is tried again after a day: a time limit missed only because
 * the machine was very busy does not leave an article unformatted for good (an edit also renders
 * it again, being a new text), and a hostile text costs one time limit a day.
 */
const RETRY_FAILED_MS = 24 * 3600 * 1000;
const stale = (k: Kept) => k.html === null && Date.now() - k.at > RETRY_FAILED_MS;

/** Where a text's rendering is kept (RenderedMarkdown.key). */
export const renderingKey = (source: string) => createHash('sha256').update(RENDERER_ID).update('\n').update(source).digest('hex');

/**
 * What became of a task. `timeout` and `error` (it threw, or ran out of memory) come from the text
 * itself: the same text would do it again. `unavailable` (no worker free in time, queue full,
 * no worker could start) does not.
 */
type RenderOutcome = { ok: true; value: unknown } | { ok: false; reason: 'timeout' | 'error' | 'unavailable'; detail: string };

/**
 * The render workers: one task per worker, each with the time limit and 128 MB of heap. A task
 * that cannot get a worker within twice the limit (a worker's start included), or finds 64
 * waiting, is not run at all: a page always gets an answer within three times the limit.
 */
function renderPool(opts: RendererOptions): ((task: Task) => Promise<RenderOutcome>) & { close(): Promise<void> } {
  const pool = new WorkerPool({
    name: 'render',
    handler: new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url),
    maxThreads: opts.workers,
    maxQueue: 64,
    resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 },
  });
  const run = async (task: Task): Promise<RenderOutcome> => {
    const out: Outcome<unknown> = await pool.run(task, { timeoutMs: opts.timeoutMs, maxWaitMs: 2 * opts.timeoutMs });
    if (out.ok) return out;
    if (out.reason === 'timeout') return { ok: false, reason: 'timeout', detail: out.message };
    if (out.reason === 'failed') {
      logError(`[render] a ${task.kind} task failed: ${out.message}`);
      return { ok: false, reason: 'error', detail: out.message };
    }
    return { ok: false, reason: 'unavailable', detail: out.message };
  };
  return Object.assign(run, { close: () => pool.stop() });
}

export function createRenderer(db: Database, opts: RendererOptions): Renderer {
  const pool = renderPool(opts);
  const lru = new Lru<Kept>(500, 16 * 1024 * 1024);
  const inFlight = new Map<string, Promise<Kept | null>>();
  // Pairs of texts found too different to compare, so that asking again costs nothing.
  const tooDifferent = new Lru<{ size: number }>(1000, 1000);

  async function stored(key: string): Promise<Kept | null> {
    try {
      const { rows } = await db.pool.query<{ html: string | null; failure: string | null; createdAt: Date }>(
        'SELECT html, failure, "createdAt" FROM "RenderedMarkdown" WHERE key = $1',
        [key],
      );
      const row = rows[0];
      return row ? { html: row.html, failure: row.failure, size: row.html?.length ?? 0, at: row.createdAt.getTime() } : null;
    } catch (err) {
      logError('[render] could not read the rendering cache:', (err as Error).message);
      return null;
    }
  }

  async function keep(key: string, kept: Kept): Promise<void> {
    try {
      // A failure tried again is replaced; a rendering is never replaced by a failure.
      await db.pool.query(
        `INSERT INTO "RenderedMarkdown" (key, html, failure) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET html = EXCLUDED.html, failure = EXCLUDED.failure, "createdAt" = EXCLUDED."createdAt"
         WHERE "RenderedMarkdown".html IS NULL`,
        [key, kept.html, kept.failure],
      );
    } catch (err) {
      logError('[render] could not keep a rendering:', (err as Error).message);
    }
  }

  /** The rendering of a text: kept, or made now (null: no worker could take it; try again later). */
  async function rendering(key: string, source: string): Promise<Kept | null> {
    const found = await stored(key);
    if (found && !stale(found)) return found;
    const outcome = await pool({ kind: 'markdown', source });
    let kept: Kept;
    if (outcome.ok) {
      const html = outcome.value as string;
      kept =
        html.length <= MAX_HTML_CHARS
          ? { html, failure: null, size: html.length, at: Date.now() }
          : { html: null, failure: 'the formatted text would be too large', size: 0, at: Date.now() };
    } else if (outcome.reason === 'unavailable') {
      logError(`[render] Markdown not rendered: ${outcome.detail}`);
      return null;
    } else {
      kept = { html: null, failure: outcome.reason === 'timeout' ? `formatting ${outcome.detail}` : outcome.detail, size: 0, at: Date.now() };
    }
    await keep(key, kept);
    return kept;
  }

  return {
    async markdown(source) {
      const key = renderingKey(source);
      let kept = lru.get(key) ?? null;
      if (!kept || stale(kept)) {
        // Viewers of the same new text wait for one rendering.
        let job = inFlight.get(key);
        if (!job) {
          job = rendering(key, source).finally(() => inFlight.delete(key));
          inFlight.set(key, job);
        }
        kept = await job;
        if (kept) lru.set(key, kept);
      }
      if (kept?.html != null) return { html: kept.html, formatted: true, failure: null };
      return { html: plainTextHtml(source), formatted: false, failure: kept?.failure ?? 'the server is busy' };
    },

    async compareLines(before, after) {
      const pair = createHash('sha256').update(before).update('\u0000').update(after).digest('hex');
      if (tooDifferent.get(pair)) return { parts: null, reason: 'too-different' };
      // The comparison gives up by itself a little before the pool would end its worker.
      const outcome = await pool({ kind: 'lines', before, after, timeoutMs: Math.floor(opts.timeoutMs * 0.8) });
      if (outcome.ok && outcome.value) return { parts: outcome.value as DiffPart[] };
      if (!outcome.ok && outcome.reason === 'unavailable') return { parts: null, reason: 'busy' };
      tooDifferent.set(pair, { size: 1 });
      return { parts: null, reason: 'too-different' };
    },

    close: () => pool.close(),
  };
}
