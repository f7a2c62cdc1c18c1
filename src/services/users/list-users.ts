import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';
import { onCacheNotice } from '../cache-notices.js';

export interface StaffMember {
  id: number;
  name: string;
  /** For their @handles (services/notifications/mentions.ts). */
  email: string;
}

// The people a ticket can be given to appear on every ticket page; they change rarely, so the
// list is kept for a few seconds and dropped whenever this process changes a user.
const STAFF_TTL_MS = 10_000;
let staffCache: { at: number; value: StaffMember[] } | undefined;

export function invalidateStaffCache(): void {
  staffCache = undefined;
}

onCacheNotice('staff', invalidateStaffCache);

/** Active technicians and admins, by name: who can own a ticket. */
export async function listAssignableUsers(ctx: ServiceContext): Promise<StaffMember[]> {
  assertCan(ctx.actor, 'ticket.assign');
  if (staffCache && Date.now() - staffCache.at < STAFF_TTL_MS) return staffCache.value;
  const value = await ctx.db.user.findMany({
    where: { active: true, kind: 'PERSON' },
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
    select: { id: true, name: true, email: true },
  });
  staffCache = { at: Date.now(), value };
  return value;
}

export async function listUsers(ctx: ServiceContext) {
  assertCan(ctx.actor, 'user.manage');
  return ctx.db.user.findMany({
    orderBy: [{ active: 'desc' }, { name: 'asc' }, { id: 'asc' }],
    select: { id: true, email: true, name: true, role: true, active: true, kind: true, version: true, createdAt: true },
  });
}

export async function getUserWithHistory(ctx: ServiceContext, userId: number) {
  assertCan(ctx.actor, 'user.manage');
  const user = await ctx.db.user.findUnique({
    where: { id: userId },
    select: {
      id: true,
      email: true,
      name: true,
      role: true,
      active: true,
      kind: true,
      version: true,
      createdAt: true,
      userHistory: {
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: 100,
        include: { actor: { select: { name: true } } },
      },
    },
  });
  if (!user) throw new NotFoundError('No such user.');
  return user;
}
