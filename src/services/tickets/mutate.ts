import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { assertCan, type Permission } from '../policy.js';
import { assertNotClosed, assertVersion, findTicketOrThrow } from './rules.js';
import { invalidateQueueCounts } from './queue.js';
import { changedSince, markStale } from './stale.js';
import { settleTicketEvents } from './events.js';
import { PreconditionFailedError } from '../errors.js';

export interface TicketTarget {
  reference: string;
  /** The ticket version the user's form was based on; left out only for append-only additions. */
  version?: number;
  /**
   * Only exactly this version (the API's If-Match): an older one is refused with the current
   * ticket (PreconditionFailedError), not merged as a stale page's form is.
   */
  exact?: boolean;
}

/**
 * The frame of every change to an existing ticket: permission, one transaction, the ticket
 * loaded, closed tickets refused; then the change itself. A form from an older version goes on
 * marked stale: changeTicket applies only what it changes, and refuses it when a colleague changed
 * one of those fields meanwhile (stale.ts). A version the ticket never had is refused at once.
 */
export async function mutateTicket<T>(
  ctx: ServiceContext,
  permission: Permission,
  target: TicketTarget,
  change: (tx: Tx, ticket: Ticket) => Promise<T>,
  /** Inside a caller's transaction (an API create records its idempotency key with it). */
  outer?: Tx,
): Promise<T> {
  assertCan(ctx.actor, permission);
  const inTransaction = <R>(work: (tx: Tx) => Promise<R>): Promise<R> => (outer ? work(outer) : ctx.db.$transaction(work));
  const result = await inTransaction(async (tx) => {
    const ticket = await findTicketOrThrow(tx, target.reference);
    if (target.exact && target.version !== ticket.version) {
      throw new PreconditionFailedError(`Ticket ${ticket.reference} is at version ${ticket.version}, not ${target.version ?? 'none'}.`, ticket);
    }
    if (target.version !== undefined && target.version >= 1 && target.version < ticket.version) {
      markStale(ticket, await changedSince(tx, ticket.id, target.version));
    } else if (target.version !== undefined) {
      assertVersion(ticket, target.version);
    }
    assertNotClosed(ticket);
    const done = await change(tx, ticket);
    // Rules and SLA due times follow from the change, in its transaction (events.ts).
    await settleTicketEvents(tx);
    return done;
  });
  invalidateQueueCounts();
  return result;
}
