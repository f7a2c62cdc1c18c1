import type { Tx } from '../../db/client.js';
import type { Ticket, WorkLogEntry } from '../../generated/prisma/client.js';
import type { FixOutcome, WorkLogKind } from '../../domain/enums.js';
import type { Actor, ServiceContext } from '../context.js';
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
export async function appendWorkLog(tx: Tx, actor: Actor, ticket: Ticket, input: WorkLogInput): Promise<WorkLogEntry> {
  const body = requireText(input.body, 'body', input.kind === 'ATTEMPTED_FIX' ? 'What was tried' : 'The note');
  if (input.kind === 'ATTEMPTED_FIX' && !input.outcome) {
    throw new ValidationError('Say how the attempted fix went.', { outcome: 'Choose an outcome.' });
  }
  const outcome = input.kind === 'ATTEMPTED_FIX' ? input.outcome! : null;
  const entry = await tx.workLogEntry.create({
    data: { ticketId: ticket.id, authorId: actor.id, kind: input.kind, body, outcome },
  });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      actorId: actor.id,
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

/** Log a note or an attempted fix. Entries only add, so a stale page does not stop them. */
export function addWorkLog(ctx: ServiceContext, reference: string, input: WorkLogInput) {
  return mutateTicket(ctx, 'ticket.worklog', { reference }, (tx, ticket) => appendWorkLog(tx, ctx.actor, ticket, input));
}
