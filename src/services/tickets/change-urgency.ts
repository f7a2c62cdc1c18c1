import type { Urgency } from '../../domain/enums.js';
import type { ServiceContext } from '../context.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';

export function changeUrgency(ctx: ServiceContext, target: TicketTarget, urgency: Urgency) {
  return mutateTicket(ctx, 'ticket.update', target, (tx, ticket) => changeTicket(tx, ctx.actor, ticket, { urgency }));
}
