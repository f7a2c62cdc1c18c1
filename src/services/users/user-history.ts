import type { Tx } from '../../db/client.js';
import type { User } from '../../generated/prisma/client.js';

/** securityStamp is not a change of its own: it moves with a deactivation or a password change. */
export type UserPatch = Partial<
  Pick<User, 'email' | 'name' | 'role' | 'active' | 'passwordHash' | 'securityStamp' | 'timeZone' | 'theme'>
>;
const TRACKED = ['email', 'name', 'role', 'active', 'passwordHash', 'timeZone', 'theme'] as const;

/**
 * The only way a user record changes: applies the patch at the expected version and writes one
 * history row per changed field (a password change is recorded without its value).
 * Returns null when the version moved on meanwhile.
 */
export async function changeUser(tx: Tx, actorId: number, user: User, patch: UserPatch): Promise<User | null> {
  const changed = TRACKED.filter((f) => f in patch && patch[f] !== user[f]);
  if (changed.length === 0) return user;
  const { count } = await tx.user.updateMany({
    where: { id: user.id, version: user.version },
    data: { ...patch, version: user.version + 1, updatedAt: new Date() },
  });
  if (count === 0) return null;
  await tx.userHistory.createMany({
    data: changed.map((field) =>
      field === 'passwordHash'
        ? { userId: user.id, actorId, action: 'CHANGED' as const, field: 'password', newValue: 'reset' }
        : {
            userId: user.id,
            actorId,
            action: 'CHANGED' as const,
            field,
            oldValue: String(user[field]),
            newValue: String(patch[field]),
          },
    ),
  });
  return { ...user, ...patch, version: user.version + 1 };
}
