import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { HistoryActor } from '../context.js';
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
  return mutateTicket(ctx, 'ticket.update', target, (tx, ticket) => applyReopen(tx, ctx.actor, ticket, reason));
}

/**
 * The reopening itself, in the caller's transaction (which settles the ticket events): the
 * ticket page's form above, and an error report seen again in a release it was fixed in
 * (src/services/errors/record.ts), as the reporting application's service account.
 */
export async function applyReopen(tx: Tx, actor: HistoryActor, ticket: Ticket, reason?: string | null): Promise<Ticket> {
  if (ticket.status !== 'RESOLVED') throw new ValidationError(transitionRefusal(ticket.status, 'OPEN'));
  const reopened = await changeTicket(tx, actor, ticket, { status: 'OPEN' });
  const text = reason?.trim();
  if (text) await appendWorkLog(tx, actor, reopened, { kind: 'NOTE', body: `Reopened: ${text}` });
  return reopened;
}
