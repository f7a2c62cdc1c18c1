import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/client.js';
import type { User } from '../../generated/prisma/client.js';
import type { Role } from '../../domain/enums.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { hashPassword } from '../passwords.js';
import { changeUser, type UserPatch } from './user-history.js';
import { endSessionsOf, userChanged } from './sessions.js';
import { invalidateStaffCache } from './list-users.js';
import { joinDefaultTeam } from '../teams/manage-teams.js';

export const MIN_PASSWORD_LENGTH = 12;

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  password: string;
}

/** The strength rule for every password, set by an admin or changed by its owner. */
export function assertPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    const msg = `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`;
    throw new ValidationError(msg, { password: msg });
  }
}

function emailTaken(email: string): ValidationError {
  return new ValidationError(`Another user already has the email ${email}.`, { email: 'This email is taken.' });
}

export async function createUser(ctx: ServiceContext, input: NewUser): Promise<User> {
  assertCan(ctx.actor, 'user.manage');
  assertPassword(input.password);
  const email = input.email.trim().toLowerCase();
  const name = input.name.trim();
  if (!name) throw new ValidationError('A name is required.', { name: 'A name is required.' });
  const passwordHash = await hashPassword(input.password);
  try {
    const user = await ctx.db.$transaction(async (tx) => {
      const created = await tx.user.create({ data: { email, name, role: input.role, passwordHash } });
      await tx.userHistory.create({
        data: {
          userId: created.id,
          actorId: ctx.actor.id,
          action: 'CREATED',
          newValue: JSON.stringify({ email, name, role: input.role }),
        },
      });
      // In the default team at once: they can be given tickets from their first day.
      await joinDefaultTeam(tx, created, ctx.actor.id);
      return created;
    });
    invalidateStaffCache();
    return user;
  } catch (err) {
    if (isUniqueViolation(err)) throw emailTaken(email);
    throw err;
  }
}

async function activeAdminCount(tx: Tx): Promise<number> {
  return tx.user.count({ where: { role: 'ADMIN', active: true } });
}

/** The frame of every admin change to a user: permission, transaction, stale-form check. */
async function mutateUser(
  ctx: ServiceContext,
  userId: number,
  version: number,
  change: (tx: Tx, user: User) => Promise<User>,
): Promise<User> {
  assertCan(ctx.actor, 'user.manage');
  try {
    const result = await ctx.db.$transaction(async (tx) => {
      const user = await tx.user.findUnique({ where: { id: userId } });
      if (!user) throw new NotFoundError('No such user.');
      if (user.version !== version) throw new ConflictError(`${user.name} was changed by someone else meanwhile.`);
      return change(tx, user);
    });
    invalidateStaffCache();
    return result;
  } catch (err) {
    if (isUniqueViolation(err)) throw emailTaken('that address');
    throw err;
  }
}

async function apply(tx: Tx, ctx: ServiceContext, user: User, patch: UserPatch): Promise<User> {
  const updated = await changeUser(tx, ctx.actor.id, user, patch);
  if (!updated) throw new ConflictError(`${user.name} was changed by someone else meanwhile.`);
  return updated;
}

export interface UserEdit {
  email: string;
  name: string;
  role: Role;
}

/** Edit a user's email, name and role. The last active admin keeps the admin role. */
export function updateUser(ctx: ServiceContext, userId: number, version: number, edit: UserEdit) {
  return mutateUser(ctx, userId, version, async (tx, user) => {
    const name = edit.name.trim();
    if (!name) throw new ValidationError('A name is required.', { name: 'A name is required.' });
    if (user.role === 'ADMIN' && edit.role !== 'ADMIN' && user.active && (await activeAdminCount(tx)) <= 1) {
      throw new ValidationError('This is the last active admin: make someone else an admin first.', {
        role: 'The last admin must stay an admin.',
      });
    }
    const updated = await apply(tx, ctx, user, { email: edit.email.trim().toLowerCase(), name, role: edit.role });
    // Sessions read the role, name and email from the user's row: the change counts at once.
    userChanged(user.id);
    return updated;
  });
}

/**
 * Deactivate or reactivate. A deactivated user cannot sign in (their sessions end now) or be
 * given tickets; their tickets stay as they are.
 */
export function setUserActive(ctx: ServiceContext, userId: number, version: number, active: boolean) {
  return mutateUser(ctx, userId, version, async (tx, user) => {
    if (!active) {
      if (user.id === ctx.actor.id) throw new ValidationError('You cannot deactivate yourself.');
      if (user.role === 'ADMIN' && user.active && (await activeAdminCount(tx)) <= 1) {
        throw new ValidationError('This is the last active admin: make someone else an admin first.');
      }
    }
    // A new stamp ends every session of theirs, even one a sign-in in flight writes later.
    const updated = await apply(tx, ctx, user, active ? { active } : { active, securityStamp: randomUUID() });
    if (!active) await endSessionsOf(tx, user.id);
    return updated;
  });
}

/** Set a new password for a user; their sessions end. */
export async function resetPassword(ctx: ServiceContext, userId: number, version: number, password: string) {
  assertCan(ctx.actor, 'user.manage');
  assertPassword(password);
  const passwordHash = await hashPassword(password);
  return mutateUser(ctx, userId, version, async (tx, user) => {
    if (user.kind !== 'PERSON') throw new ValidationError(`${user.name} is a service account: it has no password (it acts by its token or key).`);
    const updated = await apply(tx, ctx, user, { passwordHash, securityStamp: randomUUID() });
    await endSessionsOf(tx, user.id);
    return updated;
  });
}
