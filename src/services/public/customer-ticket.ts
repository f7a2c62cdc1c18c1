// What a customer may see and do on their own ticket, without signing in. Each entry point has
// proved who they are first: the reference with the ticket's email, a private access link, or
// (for email) the sender being the ticket's customer.
import { sql, type Db, type Tx } from '../../db/client.js';
import { PUBLIC_WORKLOG_KINDS, type ResolutionCode, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { normalizeReference } from '../../domain/reference.js';
import { statusAfterCustomerReply } from '../../domain/status.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { CustomerActor } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { appendWorkLog, checkWorkLog, type WorkLogWithFiles } from '../tickets/add-work-log.js';
import type { IncomingFile } from '../attachments/files.js';
import { withStagedFiles } from '../attachments/store.js';
import { changeTicket } from '../tickets/history.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import { ticketTransaction } from '../tickets/events.js';

export interface PublicTicket {
  id: number;
  reference: string;
  title: string;
  status: TicketStatus;
  urgency: Urgency;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  resolutionCode: ResolutionCode | null;
  resolutionNote: string | null;
  customerName: string;
  /** Public replies only, oldest first: staff replies and the customer's own. */
  replies: { id: number; fromCustomer: boolean; author: string; body: string; createdAt: Date; files: PublicFile[] }[];
  /** Files of the initial report, when the customer reported it themselves. */
  reportFiles: PublicFile[];
  /**
   * What the customer wrote when they reported it (web form or mail: no staff creator), as they
   * wrote it: the first value history kept if staff edited the description since. Null for a
   * ticket staff logged (by phone, say): its description is staff's wording, maybe internal.
   */
  reportedDescription: string | null;
}

/** A file the customer may see (readCustomerFile decides the same way). */
export interface PublicFile {
  id: number;
  fileName: string;
  mediaType: string;
  size: number;
  redacted: boolean;
}

const PUBLIC_VIEW = `
SELECT t.id, t.reference, t.title, t.status::text AS status, t.urgency::text AS urgency, t."createdAt",
       t."updatedAt", t."resolvedAt", t."resolutionCode"::text AS "resolutionCode", t."resolutionNote",
       c.name AS "customerName", c.email AS "customerEmail",
       (SELECT coalesce(json_agg(json_build_object(
                 'id', w.id, 'fromCustomer', w."authorCustomerId" IS NOT NULL,
                 -- A reply sent by an automation rule is signed by the ticket's team, never by the rule's name.
                 'author', coalesce(u.name, wc.name, (SELECT tm.name FROM "Team" tm WHERE tm.id = t."teamId")), 'body', w.body, 'createdAt', w."createdAt",
                 'files', (SELECT coalesce(json_agg(json_build_object('id', f.id, 'fileName', f."fileName",
                             'mediaType', f."mediaType", 'size', f.size, 'redacted', f."redactedAt" IS NOT NULL) ORDER BY f.id), '[]')
                             FROM "Attachment" f WHERE f."workLogEntryId" = w.id)
               ) ORDER BY w."createdAt", w.id), '[]')
          FROM "WorkLogEntry" w LEFT JOIN "User" u ON u.id = w."authorId"
          LEFT JOIN "Customer" wc ON wc.id = w."authorCustomerId"
         WHERE w."ticketId" = t.id AND w.kind::text = ANY($2::text[])) AS replies,
       (SELECT coalesce(json_agg(json_build_object('id', f.id, 'fileName', f."fileName", 'mediaType', f."mediaType",
                 'size', f.size, 'redacted', f."redactedAt" IS NOT NULL) ORDER BY f.id), '[]')
          FROM "Attachment" f WHERE f."ticketId" = t.id AND f."workLogEntryId" IS NULL AND t."createdById" IS NULL) AS "reportFiles",
       CASE WHEN t."createdById" IS NULL THEN
         coalesce((SELECT h."oldValue" FROM "TicketHistory" h
                    WHERE h."ticketId" = t.id AND h.field = 'description' AND h."oldValue" IS NOT NULL
                    ORDER BY h.id LIMIT 1), t.description)
       END AS "reportedDescription"
FROM "Ticket" t JOIN "Customer" c ON c.id = t."customerId"
WHERE `;

type Row = Omit<PublicTicket, 'replies'> & {
  customerEmail: string;
  replies: (Omit<PublicTicket['replies'][number], 'createdAt'> & { createdAt: string })[];
};

function present({ customerEmail: _e, replies, ...t }: Row): PublicTicket {
  return { ...t, replies: replies.map((r) => ({ ...r, createdAt: new Date(r.createdAt) })) };
}

/** What the reference and the email show: where the ticket stands, never what was written on it. */
export type TicketStatusSummary = Pick<
  PublicTicket,
  'id' | 'reference' | 'title' | 'status' | 'urgency' | 'createdAt' | 'updatedAt' | 'resolvedAt' | 'resolutionCode'
>;

/**
 * The ticket's status when the reference and the email both match, else null; the caller says
 * the same "not found" whatever was wrong, so nobody can probe which references exist.
 *
 * A reference and an address are no secret (they are on every mail, and whoever filed a web
 * request for somebody else's address saw its reference): they show the status, title and dates,
 * never the conversation or the resolution's text, which only the private link in the mails opens.
 * A ticket reported through the public web form is found this way only once a person confirmed
 * one of its links (the button on the link's page): until then nothing says the mailbox's owner
 * asked for it.
 */
export async function findTicketForCustomer(db: Db, reference: string, email: string): Promise<TicketStatusSummary | null> {
  const ref = normalizeReference(reference);
  const address = email.trim().toLowerCase();
  if (!ref || !address) return null;
  const [row] = await sql<TicketStatusSummary>(
    db,
    `SELECT t.id, t.reference, t.title, t.status::text AS status, t.urgency::text AS urgency, t."createdAt",
            t."updatedAt", t."resolvedAt", t."resolutionCode"::text AS "resolutionCode"
       FROM "Ticket" t JOIN "Customer" c ON c.id = t."customerId"
      WHERE t.reference = $1::varchar AND c.email = $2::varchar
        AND (t.channel <> 'WEB' OR t."createdById" IS NOT NULL
             OR EXISTS (SELECT 1 FROM "TicketAccessToken" k WHERE k."ticketId" = t.id AND k."confirmedAt" IS NOT NULL))`,
    [ref, address],
  );
  return row ?? null;
}

/** The ticket behind a private access link, with its public conversation. */
export async function publicTicketById(db: Db, ticketId: number): Promise<PublicTicket> {
  const [row] = await sql<Row>(db, `${PUBLIC_VIEW} t.id = $1::int`, [ticketId, PUBLIC_WORKLOG_KINDS]);
  if (!row) throw new NotFoundError('That ticket no longer exists.');
  return present(row);
}

/** A ticket of a colleague, as a customer whose organization shares tickets sees it listed. */
export interface SharedTicketRow {
  reference: string;
  title: string;
  status: TicketStatus;
  reportedBy: string;
  updatedAt: Date;
}

/** The most colleagues' tickets a private page lists (the most recently updated). */
export const SHARED_TICKET_LIMIT = 50;

// The colleagues of a link's ticket's customer: the other customers of its organization, only while
// that organization shares tickets. Their tickets are listed and opened through the one rule below,
// checked again on every request. A web request nobody has confirmed yet (anyone can type an
// address into the form) is left out, as the status lookup leaves it out.
const COLLEAGUES = `
  SELECT c.id FROM "Ticket" me
    JOIN "Customer" mc ON mc.id = me."customerId"
    JOIN "Organization" o ON o.id = mc."organizationId" AND o."shareTickets"
    JOIN "Customer" c ON c."organizationId" = o.id AND c.id <> mc.id
   WHERE me.id = $LINK::int`;
const SHOWN = `(t.channel <> 'WEB' OR t."createdById" IS NOT NULL
   OR EXISTS (SELECT 1 FROM "TicketAccessToken" k WHERE k."ticketId" = t.id AND k."confirmedAt" IS NOT NULL))`;

/**
 * The tickets of the customer's colleagues (reference, title, status, who reported it, when it
 * changed), when the organization of the link's ticket's customer shares tickets; none otherwise.
 */
export async function sharedTicketsFor(db: Db, linkTicketId: number): Promise<SharedTicketRow[]> {
  return sql<SharedTicketRow>(
    db,
    `SELECT t.reference, t.title, t.status::text AS status, c.name AS "reportedBy", t."updatedAt"
       FROM "Ticket" t JOIN "Customer" c ON c.id = t."customerId"
      WHERE t."customerId" IN (${COLLEAGUES.replace('$LINK', '$1')}) AND ${SHOWN}
      ORDER BY t."updatedAt" DESC, t.id DESC
      LIMIT ${SHARED_TICKET_LIMIT}`,
    [linkTicketId],
  );
}

/**
 * A colleague's ticket, read-only, through the private link of the customer's own: its public
 * conversation (never internal notes), under the same rule as the list. Null whatever was wrong
 * (no such reference, another organization's ticket, sharing off, the customer's own ticket), so
 * that the caller answers the same "not found" and nobody learns which references exist.
 */
export async function sharedTicketFor(db: Db, linkTicketId: number, reference: string): Promise<PublicTicket | null> {
  const ref = normalizeReference(reference);
  if (!ref) return null;
  const [row] = await sql<Row>(
    db,
    `${PUBLIC_VIEW} t.reference = $1::varchar AND t."customerId" IN (${COLLEAGUES.replace('$LINK', '$3')}) AND ${SHOWN}`,
    [ref, PUBLIC_WORKLOG_KINDS, linkTicketId],
  );
  return row ? present(row) : null;
}

/**
 * The customer's reply goes into the work log (a customer reply, by them); a resolved ticket opens
 * again and a ticket waiting on them goes back to work, recorded in history as done by the
 * customer. Closed tickets take no replies. One transaction.
 */
export async function addCustomerReply(
  db: Db,
  ticketId: number,
  body: string,
  opts: { tx?: Tx; files?: readonly IncomingFile[]; inboundMailId?: number | null } = {},
): Promise<{ ticket: Ticket; entry: WorkLogWithFiles }> {
  if (body.trim().length > 20_000) {
    throw new ValidationError('The reply is too long (at most 20,000 characters).', { body: 'Shorten the reply.' });
  }
  // The entry's rules before anything is written: the status change below comes first, and inbound
  // mail runs this inside its own transaction, which a refusal does not roll back.
  checkWorkLog({ kind: 'CUSTOMER_REPLY', body, outcome: null, files: opts.files ?? [] });
  // opts.tx: inside the caller's transaction (inbound mail records the message with the reply).
  const run = async (tx: Tx, files: readonly IncomingFile[]) => {
    const ticket = await tx.ticket.findUnique({ where: { id: ticketId }, include: { customer: true } });
    if (!ticket) throw new NotFoundError('That ticket no longer exists.');
    if (ticket.status === 'CLOSED') {
      throw new ValidationError(`Ticket ${ticket.reference} is closed and takes no more replies; please open a new request.`);
    }
    const actor: CustomerActor = { customerId: ticket.customerId, name: ticket.customer.name, email: ticket.customer.email };
    const { customer: _c, ...plain } = ticket;
    const next = statusAfterCustomerReply(ticket.status);
    const updated = next === ticket.status ? plain : await changeTicket(tx, actor, plain, { status: next });
    const entry = await appendWorkLog(
      tx,
      actor,
      updated,
      { kind: 'CUSTOMER_REPLY', body, outcome: null, files },
      { inboundMailId: opts.inboundMailId ?? null },
    );
    return { ticket: updated, entry };
  };
  // Staff changing the ticket at that very moment makes the status change a conflict: the
  // customer's reply is not based on any form version, so it is simply tried again.
  const attempt = async (files: readonly IncomingFile[]) => {
    for (let n = 1; ; n++) {
      try {
        return opts.tx ? await run(opts.tx, files) : await ticketTransaction(db, (tx) => run(tx, files), { timeout: 30_000 });
      } catch (err) {
        if (opts.tx || !(err instanceof ConflictError) || n >= 3) throw err;
      }
    }
  };
  // Large files' bytes are written before the transaction (src/services/attachments/store.ts).
  const result = opts.tx ? await attempt(opts.files ?? []) : await withStagedFiles(db, opts.files ?? [], attempt);
  invalidateQueueCounts();
  return { ticket: result.ticket, entry: result.entry };
}
