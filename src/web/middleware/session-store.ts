import session, { type SessionData } from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import { SessionCache } from '../../db/session-cache.js';

type Options = NonNullable<ConstructorParameters<ReturnType<typeof connectPgSimple>>[0]>;

/**
 * connect-pg-simple's store (the "session" table) with SessionCache in front of its reads: a
 * session's row is read at most about once a second while it is busy (see session-cache.ts for
 * how stale an entry can be, and what drops it). Saves and destroys go to the table as before,
 * and drop the entry both before and after the write, so no read that raced them is kept.
 */
export function cachedPgSessionStore(options: Options): session.Store {
  const PgStore = connectPgSimple(session);

  class CachedPgStore extends PgStore {
    readonly cache = new SessionCache();

    override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
      const kept = this.cache.get(sid);
      if (kept) {
        callback(null, kept as SessionData);
        return;
      }
      const began = this.cache.begin();
      super.get(sid, (err, sess) => {
        if (!err && sess) this.cache.keep(sid, sess, began);
        callback(err, sess);
      });
    }

    override set(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
      this.cache.forget(sid);
      super.set(sid, sess, (err) => {
        this.cache.forget(sid);
        callback?.(err);
      });
    }

    override destroy(sid: string, callback?: (err?: unknown) => void): void {
      this.cache.forget(sid);
      super.destroy(sid, (err) => {
        this.cache.forget(sid);
        callback?.(err);
      });
    }
  }

  return new CachedPgStore(options);
}
