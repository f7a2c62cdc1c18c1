import type { ServiceContext } from '../context.js';
import { findTeamOrThrow } from '../teams/teams.js';
import { announceToTeam, autoAssign } from './auto-assign.js';
import { changeTicket, type TicketPatch } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';

/**
 * Hand a ticket to another team. An owner who is not a member of the new team gives it up in the
 * same change (its own history row); a ticket left without an owner is then assigned
 * automatically if the new team does that, or else announced to the team's members (TEAM_ASSIGNED).
 * Returns the ticket as it is now.
 */
export function moveTicketToTeam(ctx: ServiceContext, target: TicketTarget, teamId: number) {
  return mutateTicket(ctx, 'ticket.update', target, async (tx, ticket) => {
    await findTeamOrThrow(tx, teamId);
    if (ticket.teamId === teamId) return ticket;
    const patch: TicketPatch = { teamId };
    if (ticket.assigneeId !== null) {
      const stays = await tx.teamMember.findUnique({ where: { teamId_userId: { teamId, userId: ticket.assigneeId } } });
      if (!stays) patch.assigneeId = null;
    }
    const moved = await changeTicket(tx, ctx.actor, ticket, patch);
    // Given an owner by the team's automatic assignment, or else announced to the team.
    return announceToTeam(tx, ctx.actor, await autoAssign(tx, moved));
  });
}
