import { STATUS_LABEL, type TicketStatus } from '../../domain/enums.js';
import { canTransition, transitionRefusal } from '../../domain/status.js';
import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { changeTicket, type TicketPatch } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { queueTicketMail } from '../mail/outbox.js';
import { findAssignableUser } from './rules.js';

/**
 * Move a ticket along its life (see domain/status.ts). Resolving needs a reason, so it goes
 * through resolveTicket; reopening a resolved ticket through reopenTicket. Starting work on an
 * unassigned ticket makes the one who starts it its owner. Waiting on the customer mails them.
 */
export function changeStatus(ctx: ServiceContext, target: TicketTarget, status: TicketStatus) {
  return mutateTicket(ctx, 'ticket.update', target, (tx, ticket) => applyStatusChange(tx, ctx, ticket, status));
}

/**
 * The rules of a status change, applied in the caller's transaction: the one core of
 * changeStatus and of a reply that also waits on the customer (addWorkLog). Refuses a transition
 * the life of a ticket does not allow (ValidationError, before anything is written). With
 * `mail: false` the WAITING_ON_CUSTOMER mail is left out (the caller mails the customer itself).
 */
export async function applyStatusChange(
  tx: Tx,
  ctx: ServiceContext,
  ticket: Ticket,
  status: TicketStatus,
  opts: { mail?: boolean } = {},
): Promise<Ticket> {
  if (ticket.status === status) return ticket;
  if (!canTransition(ticket.status, status)) {
    throw new ValidationError(transitionRefusal(ticket.status, status), { status: 'Not allowed from here.' });
  }
  if (status === 'RESOLVED') {
    throw new ValidationError(`To mark it ${STATUS_LABEL.RESOLVED.toLowerCase()}, use Resolve and give a reason.`, {
      status: 'Use Resolve.',
    });
  }
  if (ticket.status === 'RESOLVED' && status === 'OPEN') {
    throw new ValidationError('To open a resolved ticket again, use Reopen.', { status: 'Use Reopen.' });
  }
  const patch: TicketPatch = { status };
  if (status === 'IN_PROGRESS' && ticket.assigneeId === null) {
    // The starter becomes the owner: deactivated users cannot be given tickets.
    await findAssignableUser(tx, ctx.actor.id, ticket.teamId, 'status');
    patch.assigneeId = ctx.actor.id;
  }
  const changed = await changeTicket(tx, ctx.actor, ticket, patch);
  // The customer is told when the ticket waits on them.
  if (status === 'WAITING_ON_CUSTOMER' && opts.mail !== false) await queueTicketMail(tx, changed, 'WAITING_ON_CUSTOMER');
  return changed;
}
