import type { Tx } from '../../db/client.js';
import { forgetSessionsOfUser } from '../../db/session-cache.js';
import type { User } from '../../generated/prisma/client.js';
import type { Theme } from '../../generated/prisma/enums.js';
import type { Actor } from '../context.js';

/**
 * What a session keeps of its user: who, and the security stamp they signed in with. Everything
 * else (role, name, email, whether they are active) is read from the user's row with the session
 * (src/web/middleware/session-store.ts), so a change to the user takes effect on their next
 * request, and a session whose stamp no longer matches is no session at all.
 */
export interface SessionIdentity {
  id: number;
  stamp: string;
}

/** A user's own settings (their profile), read with their session: how the pages look to them. */
export interface Preferences {
  /** An IANA zone: every time on the staff pages is shown in it. */
  timeZone: string;
  theme: Theme;
}

/**
 * A signed-in user, as authenticate() hands them to the session: the actor and their stamp (and,
 * once read with the session, their preferences).
 */
export type SignedInUser = Actor & { stamp: string } & Partial<Preferences>;

export function sessionUser(user: Pick<User, 'id' | 'role' | 'name' | 'email'>): Actor {
  return { id: user.id, role: user.role, name: user.name, email: user.email };
}

/**
 * Signs a user out everywhere (deactivation, password reset). The caller has changed the user's
 * security stamp in the same transaction: that alone ends every session, including one that a
 * sign-in still in flight writes after this. Deleting the rows is housekeeping.
 */
export async function endSessionsOf(tx: Tx, userId: number): Promise<void> {
  // This process's copies of the rows go now, and none is kept until the transaction is over.
  forgetSessionsOfUser(userId);
  await tx.$executeRaw`DELETE FROM "session" WHERE (sess -> 'passport' -> 'user' ->> 'id') = ${String(userId)}`;
}

/**
 * A user's role, name or email changed: sessions read them from the user's row, so nothing in the
 * table changes; this process only stops using its copies (other instances' expire within a second).
 */
export function userChanged(userId: number): void {
  forgetSessionsOfUser(userId);
}
