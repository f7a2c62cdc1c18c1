// The outbox: a mail to a ticket's customer is a row written in the transaction of the change
// that causes it. A trigger queues its sending job in that same transaction (see the migration
// 20261127030000_customer_access_and_email), so a rolled-back change sends nothing and a
// committed one is sent even if the process dies right after the commit.
import type { Tx } from '../../db/client.js';
import type { MailKind, Ticket } from '../../generated/prisma/client.js';

/** What a mail says, fixed when the change commits; rendered into text and HTML when sent. */
export interface MailPayload {
  reference: string;
  title: string;
  /** The customer's name, for the greeting. */
  name: string;
  /** REPLY: the reply's text and who wrote it. */
  body?: string;
  author?: string;
  /** RESOLVED: the resolution code and note. */
  resolutionCode?: string;
  resolutionNote?: string;
}

/** Queues a mail about `ticket` to its customer, inside the caller's transaction. */
export async function queueTicketMail(
  tx: Tx,
  ticket: Pick<Ticket, 'id' | 'reference' | 'title' | 'customerId'>,
  kind: MailKind,
  extra: Pick<MailPayload, 'body' | 'author' | 'resolutionCode' | 'resolutionNote'> = {},
): Promise<void> {
  const customer = await tx.customer.findUniqueOrThrow({
    where: { id: ticket.customerId },
    select: { name: true, email: true },
  });
  const payload: MailPayload = { reference: ticket.reference, title: ticket.title, name: customer.name, ...extra };
  await tx.outboundMail.create({
    data: { ticketId: ticket.id, kind, recipient: customer.email, payload: payload as object },
  });
}
