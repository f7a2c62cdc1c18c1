import { onCacheNotice } from '../services/cache-notices.js';
/**
 * A short-lived, bounded copy of session rows, kept by this process in front of the "session"
 * table (see src/web/middleware/session-store.ts), so that a burst of requests on one session
 * reads its row once instead of once per request.
 *
 * How stale it can be:
 * - In this process, never: signing out, a session saved, and endSessionsOf / userChanged
 *   (deactivation, password reset, a changed user) drop the entries at once, and reads that were
 *   under way then are not kept (see `epoch` and `bypass` below).
 * - Another instance's changes (its sign-outs, its admins deactivating someone) are seen here
 *   within TTL_MS: an entry is used for at most that long after it was read from the table.
 */
export const SESSION_CACHE_TTL_MS = 1_000;

/**
 * endSessionsOf/userChanged run inside an admin's transaction: until it commits, a read of
 * the table still sees the old rows. So for this long after the call, that user's rows are read
 * from the table every time and not kept. Prisma's interactive transactions end within 5 s
 * (their default timeout), well inside this.
 */
const BYPASS_MS = 15_000;

interface Entry {
  /** The row's session as JSON: each request gets its own copy (express-session changes it). */
  json: string;
  userId: number | null;
  /** When it was read from the table (ms). */
  at: number;
  /** When the session itself expires (ms), or Infinity. */
  expires: number;
}

/** The signed-in user's id in a session's data (passport keeps it under passport.user). */
export function sessionUserId(sess: unknown): number | null {
  const id = (sess as { passport?: { user?: { id?: unknown } } } | null)?.passport?.user?.id;
  return typeof id === 'number' ? id : null;
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every change: a read that started before one is not kept. */
  private epoch = 0;
  /** Users whose rows are being changed by a transaction: until when their rows are not kept. */
  private readonly bypass = new Map<number, number>();

  constructor(
    private readonly ttlMs = SESSION_CACHE_TTL_MS,
    private readonly maxEntries = 10_000,
  ) {
    caches.add(new WeakRef(this));
  }

  /** A fresh copy of the session, or undefined when it is not kept (or too old). */
  get(sid: string, now = Date.now()): object | undefined {
    const entry = this.entries.get(sid);
    if (!entry) return undefined;
    if (now - entry.at >= this.ttlMs || entry.expires <= now) {
      this.entries.delete(sid);
      return undefined;
    }
    return JSON.parse(entry.json) as object;
  }

  /** Call before reading a row from the table; pass the result to keep(). */
  begin(): number {
    return this.epoch;
  }

  /** Keeps a row read from the table, unless something changed since its read began. */
  keep(sid: string, sess: object, began: number, now = Date.now()): void {
    if (began !== this.epoch) return;
    const userId = sessionUserId(sess);
    if (userId !== null && this.bypass.size) {
      const until = this.bypass.get(userId);
      if (until !== undefined) {
        if (until > now) return;
        this.bypass.delete(userId);
      }
    }
    const cookie = (sess as { cookie?: { expires?: unknown } }).cookie;
    const expires = cookie?.expires ? new Date(cookie.expires as string).getTime() : Infinity;
    if (this.entries.size >= this.maxEntries) {
      // The oldest read goes first (a Map keeps insertion order).
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(sid);
    this.entries.set(sid, { json: JSON.stringify(sess), userId, at: now, expires: Number.isNaN(expires) ? 0 : expires });
  }

  /** The session was saved or destroyed by this process: the next read goes to the table. */
  forget(sid: string): void {
    this.epoch++;
    this.entries.delete(sid);
  }

  /** The user's rows are being deleted or rewritten: drop them, and keep none for a while. */
  forgetUser(userId: number, now = Date.now()): void {
    this.epoch++;
    this.bypass.set(userId, now + BYPASS_MS);
    for (const [sid, entry] of this.entries) if (entry.userId === userId) this.entries.delete(sid);
  }

  /** Every entry goes (another instance ended a session: src/services/cache-notices.ts). */
  forgetAll(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Every cache in this process (tests make several apps), for forgetSessionsOfUser. */
const caches = new Set<WeakRef<SessionCache>>();

/** A user's sessions are being ended or changed (src/services/users/sessions.ts). */
export function forgetSessionsOfUser(userId: number): void {
  for (const ref of caches) {
    const cache = ref.deref();
    if (cache) cache.forgetUser(userId);
    else caches.delete(ref);
  }
}

/** Every kept session of this process goes (a session ended somewhere, or notices were missed). */
export function forgetAllSessions(): void {
  for (const ref of caches) {
    const cache = ref.deref();
    if (cache) cache.forgetAll();
    else caches.delete(ref);
  }
}

// Other instances' changes (src/services/cache-notices.ts): a user's row changed ('user:<id>'),
// or a session ended ('sessions').
onCacheNotice('user', (id) => (id === undefined ? forgetAllSessions() : forgetSessionsOfUser(Number(id))));
onCacheNotice('sessions', () => forgetAllSessions());
