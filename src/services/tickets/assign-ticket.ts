import type { Ticket } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ConflictError } from '../errors.js';
import { changeTicket, type TicketPatch } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { findAssignableUser } from './rules.js';

/**
 * What giving a ticket an owner changes: the owner, and a NEW ticket becomes OPEN (a new ticket
 * that somebody owns is being dealt with), whoever is given it. Handing it back to nobody moves
 * no status back; a ticket further along keeps its status.
 */
function ownerPatch(ticket: Ticket, assigneeId: number | null): TicketPatch {
  const patch: TicketPatch = { assigneeId };
  if (assigneeId !== null && ticket.status === 'NEW') patch.status = 'OPEN';
  return patch;
}

/**
 * Hand a ticket to an active technician or admin, or back to nobody (null). A NEW ticket given
 * to somebody becomes OPEN in the same transaction (its own history row besides the owner's).
 */
export function assignTicket(ctx: ServiceContext, target: TicketTarget, assigneeId: number | null) {
  return mutateTicket(ctx, 'ticket.assign', target, async (tx, ticket) => {
    if (assigneeId !== null) await findAssignableUser(tx, assigneeId, ticket.teamId);
    return changeTicket(tx, ctx.actor, ticket, ownerPatch(ticket, assigneeId));
  });
}

/**
 * Take an unassigned ticket (a NEW one becomes OPEN). A ticket someone else owns is handed on
 * with assignTicket instead.
 */
export function takeTicket(ctx: ServiceContext, target: TicketTarget) {
  return mutateTicket(ctx, 'ticket.assign', target, async (tx, ticket) => {
    if (ticket.assigneeId === ctx.actor.id) return ticket;
    if (ticket.assigneeId !== null) {
      throw new ConflictError(`Ticket ${ticket.reference} already has an owner; ask them to hand it on.`);
    }
    await findAssignableUser(tx, ctx.actor.id, ticket.teamId);
    return changeTicket(tx, ctx.actor, ticket, ownerPatch(ticket, ctx.actor.id));
  });
}
