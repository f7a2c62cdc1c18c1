// "Waiting for us since" (Ticket.awaitingSince): when the customer started waiting for our next
// move. It is derived from what happens to the ticket, so it has no history rows of its own (the
// history already has the changes it follows from), and it is set only here and at creation
// (create-ticket.ts: the ticket's creation time).
import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { TicketStatus, WorkLogKind } from '../../domain/enums.js';

/** Statuses in which nothing waits for us: the customer is to answer, or it is done. */
const NOT_OURS: readonly TicketStatus[] = ['WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED'];

/**
 * awaitingSince after a status change (undefined: unchanged). Waiting on the customer, resolved or
 * closed: nothing waits for us. Back to work from one of those (reopened, the customer answered,
 * a technician took it up again): it waits for us from now, unless it already did.
 */
export function awaitingAfterStatus(ticket: Ticket, status: TicketStatus, at: Date): Date | null | undefined {
  if (status === ticket.status) return undefined;
  if (NOT_OURS.includes(status)) return null;
  if (NOT_OURS.includes(ticket.status)) return ticket.awaitingSince ?? at;
  return undefined;
}

/**
 * After a work-log entry: the customer wrote (it waits for us from the first unanswered message;
 * their last message is kept for the queue's "new customer reply" mark), or staff replied to them
 * (nothing waits for us until they answer). Notes and attempted fixes change nothing. Not a ticket
 * change: no version, so a form open meanwhile stays current.
 */
export async function noteWorkLogEntry(tx: Tx, ticket: Ticket, kind: WorkLogKind, at: Date): Promise<void> {
  if (kind === 'CUSTOMER_REPLY') {
    await tx.$executeRaw`UPDATE "Ticket" SET "awaitingSince" = coalesce("awaitingSince", ${at}::timestamptz),
      "lastCustomerReplyAt" = ${at}::timestamptz WHERE id = ${ticket.id}::int`;
    ticket.awaitingSince ??= at;
    ticket.lastCustomerReplyAt = at;
  } else if (kind === 'REPLY') {
    await tx.$executeRaw`UPDATE "Ticket" SET "awaitingSince" = NULL WHERE id = ${ticket.id}::int AND "awaitingSince" IS NOT NULL`;
    ticket.awaitingSince = null;
  }
}
