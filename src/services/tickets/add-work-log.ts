import type { Tx } from '../../db/client.js';
import type { Ticket, WorkLogEntry } from '../../generated/prisma/client.js';
import type { FixOutcome, WorkLogKind } from '../../domain/enums.js';
import { actorColumns, type AnyActor, type ServiceContext } from '../context.js';
import { queueTicketMail } from '../mail/outbox.js';
import { ValidationError } from '../errors.js';
import { mutateTicket } from './mutate.js';
import { requireText } from './rules.js';

export interface WorkLogInput {
  kind: WorkLogKind;
  body: string;
  /** For an attempted fix: how it went. */
  outcome?: FixOutcome | null;
}

/** Writes a work-log entry and its history row in the caller's transaction. */
export async function appendWorkLog(tx: Tx, actor: AnyActor, ticket: Ticket, input: WorkLogInput): Promise<WorkLogEntry> {
  const what = { ATTEMPTED_FIX: 'What was tried', NOTE: 'The note', REPLY: 'The reply', CUSTOMER_REPLY: 'The reply' }[input.kind];
  const body = requireText(input.body, 'body', what);
  if (input.kind === 'ATTEMPTED_FIX' && !input.outcome) {
    throw new ValidationError('Say how the attempted fix went.', { outcome: 'Choose an outcome.' });
  }
  const outcome = input.kind === 'ATTEMPTED_FIX' ? input.outcome! : null;
  const { actorId, actorCustomerId } = actorColumns(actor);
  const entry = await tx.workLogEntry.create({
    data: { ticketId: ticket.id, authorId: actorId, authorCustomerId: actorCustomerId, kind: input.kind, body, outcome },
  });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      actorId,
      actorCustomerId,
      action: 'WORKLOG_ADDED',
      field: input.kind,
      newValue: outcome,
      newRefId: entry.id,
      ticketVersion: ticket.version,
      createdAt: entry.createdAt,
    },
  });
  return entry;
}

/**
 * Log a note, an attempted fix, or a reply to the customer (which is also emailed to them, from
 * the same transaction's outbox). Entries only add, so a stale page does not stop them.
 */
export function addWorkLog(ctx: ServiceContext, reference: string, input: WorkLogInput) {
  if (input.kind === 'CUSTOMER_REPLY') {
    throw new ValidationError('Only the customer writes customer replies.', { kind: 'Choose another kind of entry.' });
  }
  return mutateTicket(ctx, 'ticket.worklog', { reference }, async (tx, ticket) => {
    const entry = await appendWorkLog(tx, ctx.actor, ticket, input);
    if (entry.kind === 'REPLY') await queueTicketMail(tx, ticket, 'REPLY', { body: entry.body, author: ctx.actor.name });
    return entry;
  });
}
