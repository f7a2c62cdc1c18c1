import type { ServiceContext } from '../context.js';
import { ConflictError } from '../errors.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { findAssignableUser } from './rules.js';

/** Hand a ticket to an active technician or admin, or back to nobody (null). */
export function assignTicket(ctx: ServiceContext, target: TicketTarget, assigneeId: number | null) {
  return mutateTicket(ctx, 'ticket.assign', target, async (tx, ticket) => {
    if (assigneeId !== null) await findAssignableUser(tx, assigneeId);
    return changeTicket(tx, ctx.actor, ticket, { assigneeId });
  });
}

/** Take an unassigned ticket. A ticket someone else owns is handed on with assignTicket instead. */
export function takeTicket(ctx: ServiceContext, target: TicketTarget) {
  return mutateTicket(ctx, 'ticket.assign', target, async (tx, ticket) => {
    if (ticket.assigneeId === ctx.actor.id) return ticket;
    if (ticket.assigneeId !== null) {
      throw new ConflictError(`Ticket ${ticket.reference} already has an owner; ask them to hand it on.`);
    }
    await findAssignableUser(tx, ctx.actor.id);
    return changeTicket(tx, ctx.actor, ticket, { assigneeId: ctx.actor.id });
  });
}
