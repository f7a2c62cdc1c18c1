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
  /**
   * TICKET_CREATED for a ticket the customer reported (web form, email): whoever used the address
   * typed the title and name, so the mail says neither (no backscatter of a stranger's text).
   */
  fromCustomer?: boolean;
  /** REPLY: the reply's files, sent as MIME attachments (bytes read from the content store when sent). */
  attachments?: { id: number; fileName: string; mediaType: string; size: number }[];
}

/**
 * Queues a mail about `ticket` to its customer, inside the caller's transaction: one statement,
 * the customer's address and name read where the row is written.
 */
export async function queueTicketMail(
  tx: Tx,
  ticket: Pick<Ticket, 'id' | 'reference' | 'title' | 'customerId'>,
  kind: MailKind,
  extra: Pick<MailPayload, 'body' | 'author' | 'resolutionCode' | 'resolutionNote' | 'attachments'> = {},
): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "OutboundMail" (kind, recipient, payload, "ticketId")
    SELECT ${kind}::"MailKind", c.email,
           jsonb_build_object('reference', ${ticket.reference}::text, 'title', ${ticket.title}::text, 'name', c.name)
             || ${JSON.stringify(extra)}::jsonb,
           ${ticket.id}::int
    FROM "Customer" c WHERE c.id = ${ticket.customerId}::int`;
}
