import session, { type SessionData } from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import { SessionCache } from '../../db/session-cache.js';
import type { Role } from '../../domain/enums.js';
import type { Theme } from '../../generated/prisma/enums.js';
import type { SessionIdentity, SignedInUser } from '../../services/users/sessions.js';

/**
 * A session's row and its user's row, in one round trip. The session names its user and the
 * security stamp they signed in with (src/services/users/sessions.ts); the user's row says who
 * they are now.
 */
const READ = `
  SELECT s.sess, u.role, u.name, u.email, u.active, u."securityStamp"::text AS stamp, u."timeZone", u.theme::text AS theme
  FROM "session" s
  LEFT JOIN "User" u ON u.id = CASE
    WHEN (s.sess -> 'passport' -> 'user' ->> 'id') ~ '^[0-9]{1,9}$' THEN (s.sess -> 'passport' -> 'user' ->> 'id')::int
  END
  WHERE s.sid = $1 AND s.expire >= now()`;

interface Row {
  sess: unknown;
  role: Role | null;
  name: string | null;
  email: string | null;
  active: boolean | null;
  stamp: string | null;
  timeZone: string | null;
  theme: Theme | null;
}

/**
 * The session as the app sees it: a signed-in session holds its user as they are now, or, when
 * the user is gone, deactivated or their stamp moved on (a password reset; a sign-in that was in
 * flight while an admin acted), the session is no session: null.
 */
export function currentSession(row: Row): SessionData | null {
  const sess = (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) as SessionData & {
    passport?: { user?: Partial<SessionIdentity> };
  };
  const signedIn = sess.passport?.user;
  if (!signedIn) return sess;
  if (!row.active || !row.stamp || typeof signedIn.id !== 'number' || signedIn.stamp !== row.stamp) return null;
  const user: SignedInUser = {
    id: signedIn.id,
    role: row.role!,
    name: row.name!,
    email: row.email!,
    stamp: row.stamp,
    timeZone: row.timeZone ?? undefined,
    theme: row.theme ?? undefined,
  };
  return { ...sess, passport: { ...sess.passport, user } } as SessionData;
}

type Options = NonNullable<ConstructorParameters<ReturnType<typeof connectPgSimple>>[0]>;

/**
 * connect-pg-simple's store (the "session" table), reading each session with its user's row (see
 * currentSession), with SessionCache in front of its reads: a
 * session's row is read at most about once a second while it is busy (see session-cache.ts for
 * how stale an entry can be, and what drops it). Saves and destroys go to the table as before,
 * and drop the entry both before and after the write, so no read that raced them is kept.
 */
export function cachedPgSessionStore(options: Options): session.Store {
  const PgStore = connectPgSimple(session);
  if (!options.pool) throw new Error('cachedPgSessionStore needs the pool');
  const pool = options.pool;

  class CachedPgStore extends PgStore {
    readonly cache = new SessionCache();

    override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
      const kept = this.cache.get(sid);
      if (kept) {
        callback(null, kept as SessionData);
        return;
      }
      const began = this.cache.begin();
      pool.query<Row>(READ, [sid]).then(({ rows: [row] }) => {
        if (!row) return callback(null, null);
        let sess: SessionData | null;
        try {
          sess = currentSession(row);
        } catch {
          sess = null; // an unreadable row: no session
        }
        // A session that can never count again is deleted (housekeeping: it is refused anyway).
        if (!sess) return this.destroy(sid, (destroyErr) => callback(destroyErr, null));
        this.cache.keep(sid, sess, began);
        callback(null, sess);
      }, (err: unknown) => callback(err));
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
