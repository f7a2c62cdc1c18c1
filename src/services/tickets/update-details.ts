import type { Channel } from '../../domain/enums.js';
import type { ServiceContext } from '../context.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { requireText } from './rules.js';

export interface TicketDetails {
  title: string;
  description: string;
  channel: Channel;
  environment: string | null;
  occurrence: string | null;
  workaround: string | null;
}

/** Edit what is known about the problem. One history row per field that changed. */
export function updateTicketDetails(ctx: ServiceContext, target: TicketTarget, details: TicketDetails) {
  return mutateTicket(ctx, 'ticket.update', target, (tx, ticket) =>
    changeTicket(tx, ctx.actor, ticket, {
      ...details,
      title: requireText(details.title, 'title', 'A title'),
      description: requireText(details.description, 'description', 'A description'),
    }),
  );
}
