import { sql, type Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { systemActor, type HistoryActor } from '../context.js';
import { lockTeam } from '../teams/manage-teams.js';
import { changeTicket } from './history.js';
import { notifyTeamAssigned } from '../notifications/notify.js';

/** Open tickets: what a person is carrying (automatic assignment's load and cap). */
const OPEN = `('NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER')`;

interface Candidate {
  id: number;
  open: number;
}

/**
 * The team's members who take tickets now (active, marked available), with their open tickets
 * in every team, in a fixed order (by id) that round robin walks. Read after the team's row is
 * locked: an assignment made by another instance a moment ago has committed and is counted.
 */
const CANDIDATES = `
SELECT u.id,
       (SELECT count(*) FROM "Ticket" x WHERE x."assigneeId" = u.id AND x.status IN ${OPEN})::int AS open
FROM "TeamMember" m JOIN "User" u ON u.id = m."userId"
WHERE m."teamId" = $1 AND u.active AND u.available
ORDER BY u.id`;

/**
 * Who gets the next ticket. ROUND_ROBIN: the first member after the last one given a ticket
 * (wrapping around); LEAST_LOADED: the fewest open tickets, ties in round-robin order. Members at
 * the team's cap are skipped; null when nobody can take it (it waits unassigned in the team).
 */
export function pickAssignee(
  mode: 'ROUND_ROBIN' | 'LEAST_LOADED',
  candidates: readonly Candidate[],
  lastAssignedUserId: number | null,
  cap: number | null,
): number | null {
  const eligible = candidates.filter((c) => cap === null || c.open < cap);
  if (eligible.length === 0) return null;
  // Round-robin order: those after the last one given a ticket, then the others from the start.
  const after = lastAssignedUserId === null ? eligible : eligible.filter((c) => c.id > lastAssignedUserId);
  const ordered = [...after, ...eligible.filter((c) => !after.includes(c))];
  if (mode === 'ROUND_ROBIN') return ordered[0]!.id;
  return ordered.reduce((best, c) => (c.open < best.open ? c : best)).id;
}

/**
 * Gives an unowned ticket to a member of its team, when the team assigns automatically: in the
 * caller's transaction, recorded in the history as done by the automatic assignment. Tickets of
 * one team arriving at once on several instances take turns on the team's row lock, so round
 * robin and the cap hold. Returns the ticket as it is now.
 */
export async function autoAssign(tx: Tx, ticket: Ticket): Promise<Ticket> {
  if (ticket.assigneeId !== null || ticket.status === 'RESOLVED' || ticket.status === 'CLOSED') return ticket;
  const team = await lockTeam(tx, ticket.teamId);
  if (team.autoAssign === 'OFF') return ticket;
  const candidates = await sql<Candidate>(tx, CANDIDATES, [team.id]);
  const chosen = pickAssignee(team.autoAssign, candidates, team.lastAssignedUserId, team.maxOpenPerPerson);
  if (chosen === null) return ticket;
  await tx.team.update({ where: { id: team.id }, data: { lastAssignedUserId: chosen } });
  // A NEW ticket that somebody owns is being dealt with: OPEN, as when a person assigns it.
  return changeTicket(tx, systemActor('auto-assignment'), ticket, {
    assigneeId: chosen,
    ...(ticket.status === 'NEW' ? { status: 'OPEN' as const } : {}),
  });
}

/**
 * A ticket handed to a team without an owner (moved there, or opened in a team other than the
 * default one) is announced to the team's active members, in the caller's transaction; never to
 * the actor. New tickets of the default team are not announced: every one lands there, and the
 * queue is where they are seen.
 */
export async function announceToTeam(tx: Tx, actor: HistoryActor, ticket: Ticket): Promise<Ticket> {
  if (ticket.assigneeId !== null) return ticket;
  const team = await tx.team.findUnique({
    where: { id: ticket.teamId },
    select: { name: true, members: { where: { user: { active: true } }, select: { userId: true } } },
  });
  if (team) await notifyTeamAssigned(tx, actor, ticket, team.members.map((m) => m.userId), team.name);
  return ticket;
}
