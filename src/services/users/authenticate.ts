import type { Db } from '../../db/client.js';
import { dummyHash, verifyPassword } from '../passwords.js';
import { sessionUser, type SignedInUser } from './sessions.js';

/**
 * Checks an email and password. Unknown email, wrong password and deactivated user all give
 * the same answer (null) after the same work, so that nobody can learn which it was.
 *
 * Hashing takes about a second; an admin may deactivate the user or reset their password
 * meanwhile. So the user is read again after the hash, and the sign-in counts only if their
 * security stamp did not move. (A change that commits after this second read is caught too: the
 * session carries the stamp, and the session store accepts it only while it still matches.)
 */
export async function authenticate(db: Db, email: string, password: string): Promise<SignedInUser | null> {
  const where = { email: email.trim().toLowerCase() };
  const user = await db.user.findUnique({ where });
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
  if (!user || !ok || !user.active || user.kind !== 'PERSON') return null;
  const now = await db.user.findUnique({ where: { id: user.id } });
  if (!now || !now.active || now.securityStamp !== user.securityStamp || now.passwordHash !== user.passwordHash) return null;
  return { ...sessionUser(now), stamp: now.securityStamp };
}
