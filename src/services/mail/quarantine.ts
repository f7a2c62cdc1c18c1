// Staff sort the mail Caseboard would not take on its own (src/services/mail/inbound.ts): attach
// it to a ticket, turn it into a new ticket, or discard it. Each decision is made once: the row
// is locked, a message no longer in quarantine is refused with what became of it, and the
// database's trigger refuses any second change to the record as well.
//
// Attaching, decided here: when the sender is the ticket's customer (or an address merged into
// theirs), the message goes in as what it is — the customer's reply, written by the customer,
// with the same effect as if it had matched on arrival (a resolved ticket opens again). From
// anyone else it goes in as an internal note by the staff member who attached it, quoting
// "Mail from …": a stranger's words are neither shown on the customer's status page nor put in
// the customer's mouth. So does a message whose sender failed authentication (authStatus FAIL),
// even from the customer's address: its From is not theirs for sure. Either way a MAIL_ATTACHED history row by the staff member records who
// attached which sender's mail. Closed tickets take nothing (they are final).
import type { Tx } from '../../db/client.js';
import { normalizeReference } from '../../domain/reference.js';
import type { InboundMail, InboundMailState, Ticket } from '../../generated/prisma/client.js';
import { clip } from '../../mail/parse.js';
import { actorColumns, type ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { addCustomerReply } from '../public/customer-ticket.js';
import { appendWorkLog } from '../tickets/add-work-log.js';
import { followMailFiles } from '../attachments/attach.js';
import { createTicketForCustomer } from '../tickets/create-ticket.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import { ticketTransaction } from '../tickets/events.js';
import { aligned, domainOf } from '../../mail/auth-results.js';
import { isTicketCustomer } from './inbound.js';

export const QUARANTINE_PAGE_SIZE = 100;

export interface QuarantineRow {
  id: number;
  fromAddress: string;
  fromName: string | null;
  subject: string;
  body: string;
  reason: string | null;
  receivedAt: Date;
  envelopeSender: string | null;
  authStatus: 'PASS' | 'FAIL' | 'NONE' | null;
  authResults: string | null;
  /** The envelope sender's domain is not the From address's (shown as a warning). */
  envelopeDiffers: boolean;
  matchedTicket: { reference: string; title: string; status: string } | null;
  /** Files held with the message (they follow it to a ticket). */
  attachments: { id: number; fileName: string; mediaType: string; size: number; redactedAt: Date | null }[];
  /** Whether the whole original text was kept (messages from before it was are not). */
  hasOriginal: boolean;
}

export interface QuarantineCursor {
  receivedAt: Date;
  id: number;
}

export interface QuarantinePage {
  rows: QuarantineRow[];
  /** Where the next (older) page starts, or null on the last page. */
  next: QuarantineCursor | null;
}

const ROW_SELECT = {
  id: true,
  fromAddress: true,
  fromName: true,
  subject: true,
  body: true,
  reason: true,
  receivedAt: true,
  envelopeSender: true,
  authStatus: true,
  authResults: true,
  matchedTicket: { select: { reference: true, title: true, status: true } },
  attachments: {
    where: { ticketId: null },
    select: { id: true, fileName: true, mediaType: true, size: true, redactedAt: true },
    orderBy: { id: 'asc' },
  },
  originalText: true,
} as const;

type SelectedRow = Omit<QuarantineRow, 'envelopeDiffers' | 'hasOriginal'> & { originalText: string | null };
const withEnvelope = ({ originalText, ...r }: SelectedRow): QuarantineRow => ({
  ...r,
  envelopeDiffers: !!r.envelopeSender && !aligned(domainOf(r.envelopeSender), domainOf(r.fromAddress)),
  hasOriginal: originalText !== null,
});

/** Messages waiting for a decision, newest first, 100 a page (keyset: received time, id). */
export async function listQuarantine(ctx: ServiceContext, opts: { after?: QuarantineCursor } = {}): Promise<QuarantinePage> {
  assertCan(ctx.actor, 'mail.triage');
  const after = opts.after;
  const rows = await ctx.db.inboundMail.findMany({
    where: {
      state: 'QUARANTINED',
      ...(after
        ? { OR: [{ receivedAt: { lt: after.receivedAt } }, { receivedAt: after.receivedAt, id: { lt: after.id } }] }
        : {}),
    },
    orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
    take: QUARANTINE_PAGE_SIZE + 1,
    select: ROW_SELECT,
  });
  const page = rows.slice(0, QUARANTINE_PAGE_SIZE).map(withEnvelope);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > QUARANTINE_PAGE_SIZE && last ? { receivedAt: last.receivedAt, id: last.id } : null };
}

/** The latest automatic messages that were ignored (auto-replies, bounces), for checking the filter. */
export async function listIgnored(ctx: ServiceContext, limit = 20): Promise<QuarantineRow[]> {
  assertCan(ctx.actor, 'mail.triage');
  const rows = await ctx.db.inboundMail.findMany({
    where: { state: 'IGNORED' },
    orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
    take: limit,
    select: ROW_SELECT,
  });
  return rows.map(withEnvelope);
}

type Loaded = InboundMail & { decidedBy: { name: string } | null; ticket: { reference: string } | null };

/** Why a message can no longer be decided: what became of it. */
function notInQuarantine(mail: Loaded): string {
  const by = mail.decidedBy ? ` by ${mail.decidedBy.name}` : '';
  const at = mail.decidedAt ? ` on ${mail.decidedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  const ref = mail.ticket?.reference ?? 'a ticket';
  const what: Record<InboundMailState, string> = {
    ATTACHED: `was already attached to ${ref}${by}${at}`,
    TURNED_INTO_TICKET: `was already turned into ticket ${ref}${by}${at}`,
    DISCARDED: `was already discarded${by}${at}`,
    ADDED: `was added to ${ref} when it arrived`,
    NEW_TICKET: `opened ${ref} when it arrived`,
    IGNORED: 'was ignored as automatic mail when it arrived',
    QUARANTINED: 'is in quarantine',
  };
  return `This message ${what[mail.state]}: it is no longer in quarantine, so nothing was changed.`;
}

/** The frame of every decision: permission, one transaction, the message locked and still quarantined. */
async function decide<T>(
  ctx: ServiceContext,
  inboundId: number,
  action: (
    tx: Tx,
    mail: Loaded,
  ) => Promise<{ state: 'ATTACHED' | 'TURNED_INTO_TICKET' | 'DISCARDED'; ticketId?: number; workLogEntryId?: number; value: T }>,
): Promise<T> {
  assertCan(ctx.actor, 'mail.triage');
  const value = await ticketTransaction(ctx.db, async (tx) => {
    // Two people deciding at once: the second waits here, then finds it decided.
    const locked = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM "InboundMail" WHERE id = ${inboundId}::int FOR UPDATE`;
    if (locked.length === 0) throw new NotFoundError('There is no such message.');
    const mail = await tx.inboundMail.findUniqueOrThrow({
      where: { id: inboundId },
      include: { decidedBy: { select: { name: true } }, ticket: { select: { reference: true } } },
    });
    if (mail.state !== 'QUARANTINED') throw new ValidationError(notInQuarantine(mail));
    const decision = await action(tx, mail);
    await tx.inboundMail.update({
      where: { id: inboundId },
      data: {
        state: decision.state,
        ticketId: decision.ticketId ?? null,
        workLogEntryId: decision.workLogEntryId ?? null,
        decidedById: ctx.actor.id,
        decidedAt: new Date(),
      },
    });
    return decision.value;
  });
  invalidateQueueCounts();
  return value;
}

/** The MAIL_ATTACHED history row: who brought which sender's mail into the ticket. */
async function recordAttached(tx: Tx, ctx: ServiceContext, ticket: Pick<Ticket, 'id' | 'version'>, mail: InboundMail) {
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      ...actorColumns(ctx.actor),
      action: 'MAIL_ATTACHED',
      newValue: mail.fromAddress,
      newRefId: mail.id,
      ticketVersion: ticket.version,
    },
  });
}

const sender = (mail: InboundMail) => (mail.fromName ? `${mail.fromName} <${mail.fromAddress}>` : mail.fromAddress);

/**
 * Adds a quarantined message to the ticket `reference`: as the customer's reply when they sent
 * it, else as a note by the staff member quoting the sender (see the top of this file).
 */
export async function attachToTicket(
  ctx: ServiceContext,
  inboundId: number,
  reference: string,
): Promise<{ reference: string; asCustomerReply: boolean }> {
  const ref = normalizeReference(reference);
  if (!ref) {
    const message = 'Enter the reference of the ticket to attach it to, like CB-7K2M9QX.';
    throw new ValidationError(message, { reference: message });
  }
  return decide(ctx, inboundId, async (tx, mail) => {
    const ticket = await tx.ticket.findUnique({ where: { reference: ref } });
    if (!ticket) throw new ValidationError(`No ticket has the reference ${ref}.`, { reference: 'Check the reference.' });
    if (ticket.status === 'CLOSED') {
      throw new ValidationError(`Ticket ${ref} is closed: closed tickets are final. Turn the message into a new ticket instead.`, {
        reference: 'Closed tickets take nothing more.',
      });
    }
    // A message whose sender failed authentication is not theirs for sure: a note, whoever it names.
    const fromCustomer = mail.authStatus !== 'FAIL' && (await isTicketCustomer(tx, mail.fromAddress, ticket.customerId));
    let after: Ticket = ticket;
    let entry: { id: number; createdAt: Date };
    if (fromCustomer) {
      ({ ticket: after, entry } = await addCustomerReply(ctx.db, ticket.id, mail.body || '(empty message)', { tx }));
    } else {
      const received = mail.receivedAt.toISOString().slice(0, 16).replace('T', ' ');
      const quote = `Mail from ${sender(mail)}, received ${received} UTC, subject "${mail.subject || '(no subject)'}":\n\n${mail.body || '(empty message)'}`;
      entry = await appendWorkLog(tx, ctx.actor, ticket, { kind: 'NOTE', body: quote });
    }
    // The files held with the message follow it onto the entry (the same bytes: nothing copied).
    await followMailFiles(tx, ctx.actor, mail.id, after, entry.id, entry.createdAt);
    await recordAttached(tx, ctx, after, mail);
    return { state: 'ATTACHED', ticketId: ticket.id, workLogEntryId: entry.id, value: { reference: ref, asCustomerReply: fromCustomer } };
  });
}

/**
 * A new EMAIL ticket from a quarantined message: the sender is its customer (found by address or
 * added) and reported it, as if it had been taken on arrival — they are mailed its reference.
 * The staff member who released it is in its history (MAIL_ATTACHED) and on the message.
 */
export async function turnIntoTicket(ctx: ServiceContext, inboundId: number): Promise<Ticket> {
  return decide(ctx, inboundId, async (tx, mail) => {
    const ticket = await createTicketForCustomer(
      ctx.db,
      {
        title: clip(mail.subject.trim(), 200) || '(no subject)',
        description: mail.body.trim() || '(empty message)',
        channel: 'EMAIL',
        urgency: 'NORMAL',
        customer: { name: clip(mail.fromName ?? '', 120) || clip(mail.fromAddress.split('@')[0]!, 120), email: mail.fromAddress },
      },
      { tx },
    );
    await followMailFiles(tx, ctx.actor, mail.id, ticket, null, ticket.createdAt);
    await recordAttached(tx, ctx, ticket, mail);
    return { state: 'TURNED_INTO_TICKET', ticketId: ticket.id, value: ticket };
  });
}

/** Drops a quarantined message: it stays on record as DISCARDED, by whom and when. */
export async function discard(ctx: ServiceContext, inboundId: number): Promise<void> {
  await decide(ctx, inboundId, async () => ({ state: 'DISCARDED', value: undefined }));
}

/** One inbound message whole, for "show the whole message": its original text and its files. */
export interface InboundMessage {
  id: number;
  fromAddress: string;
  fromName: string | null;
  subject: string;
  receivedAt: Date;
  state: InboundMailState;
  reason: string | null;
  /** The text as shown in the work log (quotes cut). */
  body: string;
  /** The whole decoded text; null for messages from before it was kept. */
  originalText: string | null;
  ticket: { reference: string; title: string } | null;
  /** Files held with it (quarantine) or brought by it onto its ticket. */
  attachments: { id: number; fileName: string; mediaType: string; size: number; redactedAt: Date | null; onTicket: boolean }[];
}

/** Any inbound message, for staff who sort mail (every technician). */
export async function getInboundMessage(ctx: ServiceContext, inboundId: number): Promise<InboundMessage> {
  assertCan(ctx.actor, 'mail.triage');
  const m = await ctx.db.inboundMail.findUnique({
    where: { id: inboundId },
    select: {
      id: true, fromAddress: true, fromName: true, subject: true, receivedAt: true, state: true, reason: true, body: true,
      originalText: true,
      ticket: { select: { reference: true, title: true } },
      attachments: {
        select: { id: true, fileName: true, mediaType: true, size: true, redactedAt: true, ticketId: true },
        orderBy: { id: 'asc' },
      },
    },
  });
  if (!m) throw new NotFoundError('There is no such message.');
  // A quarantined message's files that followed it to a ticket are listed once: there.
  const onTicket = m.attachments.filter((a) => a.ticketId !== null);
  const files = onTicket.length ? onTicket : m.attachments;
  return { ...m, attachments: files.map(({ ticketId, ...a }) => ({ ...a, onTicket: ticketId !== null })) };
}
