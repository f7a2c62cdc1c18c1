import { transitionRefusal } from '../../domain/status.js';
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { appendWorkLog } from './add-work-log.js';

/**
 * Open a resolved ticket again. The resolution code and note stay (the history keeps both);
 * the reason, when given, goes into the work log.
 */
export function reopenTicket(ctx: ServiceContext, target: TicketTarget, reason?: string | null) {
  return mutateTicket(ctx, 'ticket.update', target, async (tx, ticket) => {
    if (ticket.status !== 'RESOLVED') throw new ValidationError(transitionRefusal(ticket.status, 'OPEN'));
    const reopened = await changeTicket(tx, ctx.actor, ticket, { status: 'OPEN' });
    const text = reason?.trim();
    if (text) await appendWorkLog(tx, ctx.actor, reopened, { kind: 'NOTE', body: `Reopened: ${text}` });
    return reopened;
  });
}
