import type { Db } from '../../db/client.js';
import { generatePassword, hashPassword } from '../passwords.js';
import { joinDefaultTeam } from '../teams/manage-teams.js';

/**
 * On first start (no admin yet) creates one from ADMIN_EMAIL/ADMIN_PASSWORD, or with a
 * generated password that is printed once. Returns what it did, for the start-up log.
 */
export async function bootstrapAdmin(
  db: Db,
  opts: { email?: string | undefined; password?: string | undefined; name: string },
): Promise<{ email: string; generatedPassword?: string } | null> {
  if ((await db.user.count({ where: { role: 'ADMIN' } })) > 0) return null;
  const email = (opts.email ?? 'admin@caseboard.local').toLowerCase();
  const generated = opts.password ? undefined : generatePassword();
  const passwordHash = await hashPassword(opts.password ?? generated!);
  const created = await db.$transaction(async (tx) => {
    // Instances started at the same moment on an empty database take turns here, and only the
    // first creates the admin (the others find it and do nothing).
    await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(72616191)');
    if ((await tx.user.count({ where: { role: 'ADMIN' } })) > 0) return false;
    const user = await tx.user.create({ data: { email, name: opts.name, role: 'ADMIN', passwordHash } });
    await tx.userHistory.create({
      data: { userId: user.id, actorId: null, action: 'CREATED', newValue: JSON.stringify({ email, role: 'ADMIN' }) },
    });
    await joinDefaultTeam(tx, user, null);
    return true;
  });
  if (!created) return null;
  return generated ? { email, generatedPassword: generated } : { email };
}
