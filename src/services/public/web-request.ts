// A customer reports an issue from the public web form: a ticket with channel WEB and urgency
// NORMAL, created by them (no staff member), its reference mailed with a private access link.
import type { Db } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { IncomingFile } from '../attachments/files.js';
import { createTicketForCustomer } from '../tickets/create-ticket.js';

export interface WebRequest {
  name: string;
  email: string;
  title: string;
  description: string;
  environment?: string | null;
  occurrence?: string | null;
  /** Files of the report (a screenshot, a log): refused past the limits or when empty, before anything is written. */
  files?: readonly IncomingFile[];
}

/**
 * Creates the ticket. An existing customer with that address keeps their record as it is (the
 * form cannot rename anybody); a new address becomes a new customer.
 */
export function submitWebRequest(db: Db, input: WebRequest): Promise<Ticket> {
  return createTicketForCustomer(db, {
    title: input.title,
    description: input.description,
    environment: input.environment ?? null,
    occurrence: input.occurrence ?? null,
    channel: 'WEB',
    urgency: 'NORMAL',
    customer: { name: input.name, email: input.email },
    files: input.files ?? [],
  });
}
