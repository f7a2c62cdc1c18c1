// Changes to tickets as they happen, for every open ticket page of this process, whichever
// instance (or mail listener, or customer) made them. PostgreSQL announces each change from the
// writing transaction (triggers in prisma/migrations/20261207040000_live_updates): 't:<id>:<version>'
// for a ticket's change, entry or history row, 'p:<id>' for who is viewing or writing on it.
//
// Two ways to hear them, one interface:
// - notify (a PostgreSQL server): one dedicated connection per process, not from the pool, that
//   LISTENs on caseboard_ticket; lost, it reconnects with back-off (0.5 s doubling to 30 s) and
//   then says "resync" (changes made meanwhile were not heard: every open page checks itself).
// - poll (the embedded PGlite): its socket server's connections all share one PostgreSQL session,
//   so a notification reaches whichever connection happens to be talking, not the listener (tried:
//   the writer's own connection got it). The feed then reads the history rows written since its
//   last look, by primary key, every second (PGlite runs one transaction at a time, so ids appear
//   in commit order and none is skipped), and ticks, so that presence is re-read as often.
//
// The feed runs while this process has open pages (started by the first, stopped a little
// after the last), and always once pinned: on a server, the same connection also LISTENs on
// caseboard_cache, the notices that drop caches kept by every instance (src/services/cache-notices.ts,
// src/web/cache-sync.ts pins the feed for them), so each process holds one LISTEN connection in all.
import pg from 'pg';
import { isDatabaseUnavailable, sql, type Database } from '../../db/client.js';
import { logError } from '../../log.js';
import { CACHE_CHANNEL } from '../cache-notices.js';

export const CHANNEL = 'caseboard_ticket';

export type FeedEvent =
  | { kind: 'ticket'; ticketId: number; version: number }
  | { kind: 'presence'; ticketId: number }
  /** Changes may have been missed (the connection was lost): every page should check itself. */
  | { kind: 'resync' }
  /** Poll mode: a poll went by (presence is re-read on it). */
  | { kind: 'tick' }
  /** A cache notice (notify mode only): the payload names the cache (src/services/cache-notices.ts). */
  | { kind: 'cache'; payload: string };

export type FeedMode = 'notify' | 'poll';

export interface LiveFeed {
  readonly mode: FeedMode;
  /** Starts hearing changes (once); resolves when changes committed from now on will be heard. */
  start(): Promise<void>;
  /** Stops hearing changes, unless pinned (then only with evenIfPinned: the process is stopping). */
  stop(opts?: { evenIfPinned?: boolean }): Promise<void>;
  /** Starts the feed and keeps it running whether or not pages are open (the cache notices). */
  pin(): Promise<void>;
  /** Adds a listener; returns its removal. */
  subscribe(listener: (event: FeedEvent) => void): () => void;
}

/** Parses a payload; anything else on the channel is ignored. */
export function parsePayload(payload: string | undefined): FeedEvent | null {
  const m = /^(t|p):(\d{1,10})(?::(\d{1,10}))?$/.exec(payload ?? '');
  if (!m) return null;
  const ticketId = Number(m[2]);
  return m[1] === 't' ? { kind: 'ticket', ticketId, version: Number(m[3] ?? 0) } : { kind: 'presence', ticketId };
}

abstract class BaseFeed implements LiveFeed {
  abstract readonly mode: FeedMode;
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  protected running = false;
  /** Bumped by every start: work left over from an earlier run (a poll, a reconnection) sees it is stale. */
  protected generation = 0;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private pinned = false;

  pin(): Promise<void> {
    this.pinned = true;
    return this.start();
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: FeedEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        logError('[live] a listener failed:', (err as Error).message);
      }
    }
  }

  /** A start while a stop is under way begins once that stop is over. */
  start(): Promise<void> {
    if (!this.starting) {
      this.starting = (this.stopping ?? Promise.resolve()).then(() => {
        this.running = true;
        this.generation++;
        return this.begin();
      });
    }
    return this.starting;
  }

  async stop(opts: { evenIfPinned?: boolean } = {}): Promise<void> {
    if (this.pinned && !opts.evenIfPinned) return;
    this.pinned = false;
    const starting = this.starting;
    if (!starting) return this.stopping ?? undefined;
    this.starting = null;
    const stopping = (async () => {
      await starting.catch(() => undefined);
      this.running = false;
      await this.end();
    })();
    this.stopping = stopping;
    await stopping;
    if (this.stopping === stopping) this.stopping = null;
  }

  protected abstract begin(): Promise<void>;
  protected abstract end(): Promise<void>;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A silently dead connection (no RST: a host gone) is noticed by this ping's failure. */
const PING_MS = 30_000;

/** LISTEN on one dedicated connection (see the top of this file). */
class NotifyFeed extends BaseFeed {
  readonly mode = 'notify' as const;
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  private backoff = MIN_BACKOFF_MS;

  constructor(private readonly options: pg.ClientConfig) {
    super();
  }

  protected async begin(): Promise<void> {
    // A database that is away now: retried with back-off; the pages get "resync" once it is back.
    await this.connect().catch((err: unknown) => this.lost(null, err));
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    const client = new pg.Client({ ...this.options, keepAlive: true });
    let gone = false;
    const onLost = (err?: unknown) => {
      if (gone) return;
      gone = true;
      this.lost(client, err);
    };
    client.on('notification', (n) => {
      if (n.channel === CACHE_CHANNEL) return this.emit({ kind: 'cache', payload: n.payload ?? '' });
      if (n.channel !== CHANNEL) return;
      const event = parsePayload(n.payload);
      if (event) this.emit(event);
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CACHE_CHANNEL}`);
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      gone = true;
      void client.end().catch(() => undefined);
      throw err;
    }
    if (!this.running || generation !== this.generation) {
      gone = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = MIN_BACKOFF_MS;
    this.ping = setInterval(() => void client.query('SELECT 1').catch((err: unknown) => onLost(err)), PING_MS);
    this.ping.unref();
  }

  private lost(client: pg.Client | null, err?: unknown): void {
    if (client && this.client === client) this.client = null;
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
    if (client) void client.end().catch(() => undefined);
    if (!this.running || this.retry) return;
    const quiet = err === undefined || isDatabaseUnavailable(err);
    logError(`[live] listener connection ${quiet ? 'lost' : 'failed'}${err ? `: ${(err as Error).message}` : ''}; again in ${this.backoff} ms`);
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.running) return;
      this.connect().then(
        () => this.emit({ kind: 'resync' }),
        (e: unknown) => this.lost(null, e),
      );
    }, wait);
    this.retry.unref();
  }

  protected async end(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}

/** Reads the history rows written since the last look (see the top of this file). */
class PollFeed extends BaseFeed {
  readonly mode = 'poll' as const;
  private last = 0;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(
    private readonly db: Database,
    private readonly intervalMs: number,
  ) {
    super();
  }

  protected async begin(): Promise<void> {
    const [row] = await sql<{ last: number | null }>(this.db.prisma, `SELECT max(id) AS last FROM "TicketHistory"`, []).catch(() => [{ last: null }]);
    this.last = row?.last ?? 0;
    this.schedule(this.intervalMs, this.generation);
  }

  private schedule(ms: number, generation: number): void {
    if (!this.running || generation !== this.generation) return;
    this.timer = setTimeout(() => void this.poll(generation), ms);
    this.timer.unref();
  }

  private async poll(generation: number): Promise<void> {
    this.timer = null;
    if (generation !== this.generation) return;
    let full = false;
    try {
      const rows = await sql<{ id: number; ticketId: number; ticketVersion: number }>(
        this.db.prisma,
        `SELECT id, "ticketId", "ticketVersion" FROM "TicketHistory" WHERE id > $1::int ORDER BY id LIMIT 500`,
        [this.last],
      );
      if (generation !== this.generation) return; // stopped (and maybe started again) meanwhile
      // One event per ticket, its latest version.
      const latest = new Map<number, number>();
      for (const r of rows) latest.set(r.ticketId, Math.max(latest.get(r.ticketId) ?? 0, r.ticketVersion));
      if (rows.length) this.last = rows[rows.length - 1]!.id;
      full = rows.length === 500;
      if (this.failing) {
        this.failing = false;
        this.emit({ kind: 'resync' });
      }
      for (const [ticketId, version] of latest) this.emit({ kind: 'ticket', ticketId, version });
      this.emit({ kind: 'tick' });
    } catch (err) {
      if (!this.failing) logError('[live] could not read the latest changes:', (err as Error).message);
      this.failing = true;
    }
    this.schedule(full ? 0 : this.intervalMs, generation);
  }

  protected async end(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * The feed for this database: LISTEN/NOTIFY on a server, polling on the embedded database (whose
 * connections share one session: `sharedSession`).
 */
export function createLiveFeed(db: Database, opts: { mode?: FeedMode; pollMs?: number; listenUrl?: string } = {}): LiveFeed {
  const mode = opts.mode ?? (db.sharedSession ? 'poll' : 'notify');
  // LISTEN needs a session of its own: behind a transaction-pooling PgBouncer, DATABASE_DIRECT_URL.
  const options = opts.listenUrl ? { connectionString: opts.listenUrl } : db.pool.options;
  return mode === 'notify' ? new NotifyFeed(options) : new PollFeed(db, opts.pollMs ?? 1000);
}
