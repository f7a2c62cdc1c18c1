import type { Tx } from '../../db/client.js';
import { forgetSessionsOfUser } from '../../db/session-cache.js';
import type { User } from '../../generated/prisma/client.js';
import type { Actor } from '../context.js';

/** What a session keeps of its user: enough to act without reading the user on every request. */
export function sessionUser(user: Pick<User, 'id' | 'role' | 'name' | 'email'>): Actor {
  return { id: user.id, role: user.role, name: user.name, email: user.email };
}

/** Signs a user out everywhere (deactivation, password reset): their sessions are deleted. */
export async function endSessionsOf(tx: Tx, userId: number): Promise<void> {
  // This process's copies of the rows go now, and none is kept until the transaction is over.
  forgetSessionsOfUser(userId);
  await tx.$executeRaw`DELETE FROM "session" WHERE (sess -> 'passport' -> 'user' ->> 'id') = ${String(userId)}`;
}

/** Keeps open sessions in step with a changed user (role, name, email take effect at once). */
export async function refreshSessionsOf(tx: Tx, user: User): Promise<void> {
  forgetSessionsOfUser(user.id);
  await tx.$executeRaw`
    UPDATE "session" SET sess = jsonb_set(sess::jsonb, '{passport,user}', ${JSON.stringify(sessionUser(user))}::jsonb)::json
    WHERE (sess -> 'passport' -> 'user' ->> 'id') = ${String(user.id)}`;
}
