import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/client.js';
import type { Theme } from '../../domain/enums.js';
import type { User } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { hashPassword, verifyPassword } from '../passwords.js';
import { listedTimeZone } from '../../domain/time-zones.js';
import { assertPassword } from './manage-users.js';
import { endSessionsOf, userChanged } from './sessions.js';
import { changeUser, type UserPatch } from './user-history.js';

// Every signed-in user's own page: who they are, their password, and how the pages look to them.
// Each change is the user's own, recorded in their history with them as the actor. There is no
// form version: only they change these fields, and an admin's edit of their name or role meanwhile
// must not refuse a new time zone.

/** What the profile page shows. */
export async function getProfile(ctx: ServiceContext) {
  assertCan(ctx.actor, 'profile.update');
  const user = await ctx.db.user.findUnique({
    where: { id: ctx.actor.id },
    select: { id: true, name: true, email: true, role: true, timeZone: true, theme: true },
  });
  if (!user) throw new NotFoundError('No such user.');
  return user;
}

/**
 * The user's own change at their row's current version, with its history rows, in one
 * transaction; `check` may refuse it on what the row is now.
 */
async function applyOwn(ctx: ServiceContext, patch: UserPatch, opts: { check?: (user: User) => void; after?: (tx: Tx) => Promise<void> } = {}) {
  return ctx.db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: ctx.actor.id } });
    if (!user) throw new NotFoundError('No such user.');
    opts.check?.(user);
    // Read in this transaction: a concurrent change of the same row makes changeUser match nothing.
    const updated = await changeUser(tx, ctx.actor.id, user, patch);
    if (!updated) throw new ValidationError('Your account was changed meanwhile: try again.');
    await opts.after?.(tx);
    return updated;
  });
}

/**
 * Change one's own password: the current one first (a session left open on a shared computer
 * must not be enough), then the strength rule every password meets. Every other session of the
 * user ends (a new security stamp); the caller signs the current one in again with the stamp
 * returned, so that the person who changed it stays signed in.
 */
export async function changeOwnPassword(ctx: ServiceContext, current: string, next: string): Promise<{ stamp: string }> {
  assertCan(ctx.actor, 'profile.update');
  const user = await ctx.db.user.findUnique({ where: { id: ctx.actor.id }, select: { passwordHash: true, securityStamp: true } });
  if (!user) throw new NotFoundError('No such user.');
  if (!(await verifyPassword(current, user.passwordHash))) {
    throw new ValidationError('Your current password is not right.', { currentPassword: 'This is not your current password.' });
  }
  try {
    assertPassword(next);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.message, { newPassword: err.message });
    throw err;
  }
  if (next === current) {
    const msg = 'The new password must differ from the current one.';
    throw new ValidationError(msg, { newPassword: msg });
  }
  const passwordHash = await hashPassword(next);
  const stamp = randomUUID();
  await applyOwn(ctx, { passwordHash, securityStamp: stamp }, {
    // Checking took a second or two: an admin's reset or deactivation meanwhile wins.
    check: (now) => {
      if (now.passwordHash !== user.passwordHash || now.securityStamp !== user.securityStamp || !now.active) {
        throw new ValidationError('Your password or account was changed meanwhile: nothing was changed. Sign in again.');
      }
    },
    after: (tx) => endSessionsOf(tx, ctx.actor.id),
  });
  return { stamp };
}

export interface PreferencesInput {
  timeZone: string;
  theme: Theme;
}

/** Time zone (an IANA name the runtime knows) and colour theme; sessions pick them up at once. */
export async function updatePreferences(ctx: ServiceContext, input: PreferencesInput) {
  assertCan(ctx.actor, 'profile.update');
  const timeZone = listedTimeZone(input.timeZone);
  if (!timeZone) {
    const msg = 'Choose a time zone from the list.';
    throw new ValidationError(msg, { timeZone: msg });
  }
  const updated = await applyOwn(ctx, { timeZone, theme: input.theme });
  // The session reads these from the user's row: this process drops its copies now.
  userChanged(ctx.actor.id);
  return updated;
}
