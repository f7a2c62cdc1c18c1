import type { Tx } from '../../db/client.js';
import type { AutoAssignMode } from '../../generated/prisma/enums.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { onCacheNotice } from '../cache-notices.js';

export interface TeamSummary {
  id: number;
  name: string;
  isDefault: boolean;
  autoAssign: AutoAssignMode;
  /** Active members, by name: who a ticket of this team can be given to. */
  members: { id: number; name: string }[];
}

// Teams and their members appear on every ticket page and the queue's filter; they change rarely,
// so the list is kept for a few seconds and dropped whenever this process changes a team. Another
// instance's change shows within TEAMS_TTL_MS; the rules themselves always read the database.
const TEAMS_TTL_MS = 10_000;
let teamsCache: { at: number; value: TeamSummary[] } | undefined;

export function invalidateTeamsCache(): void {
  teamsCache = undefined;
  routingCache = undefined;
}

// Another instance's change: dropped when PostgreSQL announces it (src/services/cache-notices.ts).
onCacheNotice('teams', invalidateTeamsCache);

/** Every team (the default first, then by name) with its active members. */
export async function listTeams(ctx: ServiceContext): Promise<TeamSummary[]> {
  assertCan(ctx.actor, 'ticket.read');
  if (teamsCache && Date.now() - teamsCache.at < TEAMS_TTL_MS) return teamsCache.value;
  const teams = await ctx.db.team.findMany({
    orderBy: [{ isDefault: 'desc' }, { name: 'asc' }],
    select: {
      id: true,
      name: true,
      isDefault: true,
      autoAssign: true,
      members: {
        where: { user: { active: true } },
        select: { user: { select: { id: true, name: true } } },
        orderBy: { user: { name: 'asc' } },
      },
    },
  });
  const value = teams.map(({ members, ...t }) => ({ ...t, members: members.map((m) => m.user) }));
  teamsCache = { at: Date.now(), value };
  return value;
}

/** The ids of the teams a person is in ("My teams"). */
export async function teamIdsOf(ctx: ServiceContext, userId = ctx.actor.id): Promise<number[]> {
  const teams = await listTeams(ctx);
  return teams.filter((t) => t.members.some((m) => m.id === userId)).map((t) => t.id);
}

/**
 * A new ticket's team, as chosen (an unknown one is refused), or else the default team (where
 * new tickets go unless told otherwise), with whether it assigns automatically. Read from a
 * snapshot of the teams kept TEAMS_TTL_MS (creating a ticket then costs no extra round trip);
 * a team another instance created or changed a moment ago is read from the database.
 */
export async function ticketTeam(
  tx: Tx,
  teamId?: number | null,
): Promise<{ id: number; autoAssign: AutoAssignMode; isDefault: boolean }> {
  const kept = routingCache && Date.now() - routingCache.at < TEAMS_TTL_MS ? routingCache.teams : null;
  const cached = kept?.find((t) => (teamId ? t.id === teamId : t.isDefault));
  if (cached) return cached;
  const teams = await tx.team.findMany({ select: { id: true, autoAssign: true, isDefault: true } });
  routingCache = { at: Date.now(), teams };
  const team = teams.find((t) => (teamId ? t.id === teamId : t.isDefault));
  if (team) return team;
  if (teamId) throw new ValidationError('That team does not exist.', { teamId: 'Choose a team from the list.' });
  throw new Error('No default team: the teams migration creates one.');
}

let routingCache: { at: number; teams: { id: number; autoAssign: AutoAssignMode; isDefault: boolean }[] } | undefined;

export async function findTeamOrThrow(tx: Tx, teamId: number, field = 'teamId') {
  const team = await tx.team.findUnique({ where: { id: teamId } });
  if (!team) throw new ValidationError('That team does not exist.', { [field]: 'Choose a team from the list.' });
  return team;
}

/** A team's page: its settings, members with their open tickets and availability, its history. */
export async function getTeamPage(ctx: ServiceContext, teamId: number) {
  assertCan(ctx.actor, 'ticket.read');
  const team = await ctx.db.team.findUnique({
    where: { id: teamId },
    include: {
      members: {
        include: { user: { select: { id: true, name: true, email: true, active: true, available: true } } },
        orderBy: { user: { name: 'asc' } },
      },
      history: {
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: 100,
        include: { actor: { select: { name: true } } },
      },
    },
  });
  if (!team) throw new NotFoundError('No such team.');
  const ids = team.members.map((m) => m.userId);
  // Open tickets per member (all teams: what automatic assignment weighs), and the team's own.
  const counts = ids.length
    ? await ctx.db.ticket.groupBy({
        by: ['assigneeId'],
        where: { assigneeId: { in: ids }, status: { notIn: ['RESOLVED', 'CLOSED'] } },
        _count: { _all: true },
      })
    : [];
  const openOf = new Map(counts.map((c) => [c.assigneeId, c._count._all]));
  const [unassigned, open] = await Promise.all([
    ctx.db.ticket.count({ where: { teamId, assigneeId: null, status: { notIn: ['RESOLVED', 'CLOSED'] } } }),
    ctx.db.ticket.count({ where: { teamId, status: { notIn: ['RESOLVED', 'CLOSED'] } } }),
  ]);
  return {
    team,
    members: team.members.map((m) => ({ ...m.user, open: openOf.get(m.userId) ?? 0, since: m.createdAt })),
    counts: { open, unassigned },
  };
}

/**
 * The team a customer's mail opens its ticket in: the first team whose address the mail was
 * delivered to (the envelope's recipients), or the default team (null).
 */
export async function teamForRecipients(tx: Tx, recipients: readonly string[]): Promise<number | null> {
  const addresses = [...new Set(recipients.map((r) => r.trim().toLowerCase()).filter(Boolean))].slice(0, 50);
  if (addresses.length === 0) return null;
  const teams = await tx.team.findMany({ where: { address: { in: addresses } }, select: { id: true, address: true } });
  for (const a of addresses) {
    const team = teams.find((t) => t.address === a);
    if (team) return team.id;
  }
  return null;
}

/** Staff who are not in the team: who can be added. */
export async function listNonMembers(ctx: ServiceContext, teamId: number) {
  assertCan(ctx.actor, 'team.manage');
  return ctx.db.user.findMany({
    where: { active: true, kind: 'PERSON', teams: { none: { teamId } } },
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
    select: { id: true, name: true },
  });
}
