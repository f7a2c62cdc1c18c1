import { CHANNEL_LABEL, type Channel } from '../../domain/enums.js';
import { ValidationError } from '../errors.js';
import type { ServiceContext } from '../context.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { requireText } from './rules.js';
import { withoutUntouched } from './stale.js';

export interface TicketDetails {
  title: string;
  description: string;
  channel: Channel;
  environment: string | null;
  occurrence: string | null;
  workaround: string | null;
}

/**
 * Edit what is known about the problem. One history row per field that changed. A ticket the
 * customer reported themselves (no staff creator) keeps the channel it came by: web form or email.
 */
export function updateTicketDetails(ctx: ServiceContext, target: TicketTarget, details: TicketDetails) {
  return mutateTicket(ctx, 'ticket.update', target, (tx, ticket) => {
    if (ticket.createdById === null && details.channel !== ticket.channel) {
      throw new ValidationError(`The customer reported this ticket by ${CHANNEL_LABEL[ticket.channel].toLowerCase()}: that stays its channel.`, {
        channel: 'A ticket the customer reported keeps its channel.',
      });
    }
    // From a stale form, only the fields the user edited (stale.ts).
    return changeTicket(tx, ctx.actor, ticket, withoutUntouched(ticket, {
      ...details,
      title: requireText(details.title, 'title', 'A title'),
      description: requireText(details.description, 'description', 'A description'),
    }));
  });
}
