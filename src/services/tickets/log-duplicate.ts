import type { Db } from '../../db/client.js';
import { normalizeReference } from '../../domain/reference.js';
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { createTicket, type NewTicket } from './create-ticket.js';
import { changeTicket } from './history.js';
import { invalidateQueueCounts } from './queue.js';
import { ticketTransaction } from './events.js';

/**
 * A call about a problem that already has an open ticket (offered while the new ticket is typed):
 * the new ticket is logged with what the caller said and resolved at once as a duplicate of the
 * original — both in one transaction, with their history rows.
 */
export async function logDuplicateTicket(ctx: ServiceContext, input: NewTicket, originalReference: string) {
  assertCan(ctx.actor, 'ticket.create');
  assertCan(ctx.actor, 'ticket.resolve');
  const reference = normalizeReference(originalReference);
  const ticket = await ticketTransaction(ctx.db, async (tx) => {
    const original = reference ? await tx.ticket.findUnique({ where: { reference } }) : null;
    if (!original) {
      throw new ValidationError(`No ticket has the reference ${originalReference}.`, { duplicateOf: 'Choose one of the open tickets offered.' });
    }
    // createTicket's statement runs in this transaction (db.sql() goes through the transaction's client).
    const created = await createTicket({ db: tx as unknown as Db, actor: ctx.actor }, input);
    return changeTicket(
      tx,
      ctx.actor,
      created,
      {
        status: 'RESOLVED',
        resolutionCode: 'DUPLICATE',
        resolutionNote: `Same problem as ${original.reference}: logged there.`,
        duplicateOfId: original.id,
      },
      { resolvedAt: new Date() },
    );
  });
  invalidateQueueCounts();
  return ticket;
}
