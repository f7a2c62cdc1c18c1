import type { Db } from '../../db/client.js';
import type { Actor } from '../context.js';
import { dummyHash, verifyPassword } from '../passwords.js';
import { sessionUser } from './sessions.js';

/**
 * Checks an email and password. Unknown email, wrong password and deactivated user all give
 * the same answer (null) after the same work, so that nobody can learn which it was.
 */
export async function authenticate(db: Db, email: string, password: string): Promise<Actor | null> {
  const user = await db.user.findUnique({ where: { email: email.trim().toLowerCase() } });
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
  if (!user || !ok || !user.active) return null;
  return sessionUser(user);
}
