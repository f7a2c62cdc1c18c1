import type { Tx } from '../../db/client.js';
import type { Attachment, Ticket, WorkLogEntry } from '../../generated/prisma/client.js';
import type { FixOutcome, WorkLogKind } from '../../domain/enums.js';
import { authorColumns, historyActorColumns, isSystemActor, type HistoryActor, type ServiceContext } from '../context.js';
import { queueTicketMail } from '../mail/outbox.js';
import { ValidationError } from '../errors.js';
import { mutateTicket } from './mutate.js';
import { applyStatusChange } from './change-status.js';
import { assertCan } from '../policy.js';
import { requireText } from './rules.js';
import type { IncomingFile } from '../attachments/files.js';
import { assertWithinLimits, attachmentLimits } from '../attachments/limits.js';
import { storeAttachments } from '../attachments/attach.js';
import { withStagedFiles } from '../attachments/store.js';
import { notifyWorkLogAdded } from '../notifications/notify.js';
import { noteWorkLogEntry } from './awaiting.js';
import { recordTicketEvent } from './events.js';

export interface WorkLogInput {
  kind: WorkLogKind;
  body: string;
  /** For an attempted fix: how it went. */
  outcome?: FixOutcome | null;
  /** Files attached to the entry (with files, the text may be left empty). */
  files?: readonly IncomingFile[];
}

export type WorkLogWithFiles = WorkLogEntry & { attachments: Attachment[] };

/**
 * The rules of an entry, checked before anything is written (a caller that changes the ticket
 * first — a customer's reply reopens it — checks them before that change): files within the
 * limits, a text unless files came, an outcome for an attempted fix.
 */
export function checkWorkLog(input: WorkLogInput): { body: string; outcome: FixOutcome | null; files: readonly IncomingFile[] } {
  const what = { ATTEMPTED_FIX: 'What was tried', NOTE: 'The note', REPLY: 'The reply', CUSTOMER_REPLY: 'The reply' }[input.kind];
  const files = input.files ?? [];
  assertWithinLimits(files, attachmentLimits());
  const body = files.length > 0 && !input.body.trim() ? '' : requireText(input.body, 'body', what);
  if (input.kind === 'ATTEMPTED_FIX' && !input.outcome) {
    throw new ValidationError('Say how the attempted fix went.', { outcome: 'Choose an outcome.' });
  }
  return { body, outcome: input.kind === 'ATTEMPTED_FIX' ? input.outcome! : null, files };
}

/**
 * Writes a work-log entry, its files and their history rows in the caller's transaction. Files
 * past the limits (src/services/attachments/limits.ts) are refused before anything is written.
 * The owner and followers are notified in that transaction; `mentions`: @handles in a note or
 * attempted fix typed by staff tell those colleagues (never in text someone else wrote, like a
 * stranger's mail quoted in a note).
 */
export async function appendWorkLog(
  tx: Tx,
  actor: HistoryActor,
  ticket: Ticket,
  input: WorkLogInput,
  opts: { inboundMailId?: number | null; mentions?: boolean } = {},
): Promise<WorkLogWithFiles> {
  const { body, outcome, files } = checkWorkLog(input);
  // A rule (system actor) writes text only: files come from people.
  if (isSystemActor(actor) && files.length > 0) throw new Error('A rule cannot attach files.');
  const entry = await tx.workLogEntry.create({
    data: { ticketId: ticket.id, ...authorColumns(actor), kind: input.kind, body, outcome },
  });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      ...historyActorColumns(actor),
      action: 'WORKLOG_ADDED',
      field: input.kind,
      newValue: outcome,
      newRefId: entry.id,
      ticketVersion: ticket.version,
      createdAt: entry.createdAt,
    },
  });
  const attachments = isSystemActor(actor) ? [] : await storeAttachments(tx, actor, ticket, { workLogEntryId: entry.id, inboundMailId: opts.inboundMailId, at: entry.createdAt }, files);
  // A customer's message makes the ticket wait for us; a reply to them ends that (awaiting.ts).
  await noteWorkLogEntry(tx, ticket, input.kind, entry.createdAt);
  await notifyWorkLogAdded(tx, actor, ticket, entry, { mentions: opts.mentions });
  recordTicketEvent(tx, { kind: 'worklog', ticketId: ticket.id, actor, entryKind: entry.kind, entryId: entry.id, at: entry.createdAt });
  return { ...entry, attachments };
}

export interface AddWorkLogOptions {
  /**
   * For a reply: the ticket also waits on the customer (status → Waiting on customer), in the
   * same transaction and by the same rules as a status change; refused (nothing written) when
   * that transition is not allowed. The customer gets one mail, the reply: not a second
   * "waiting on you" mail as well.
   */
  waitForCustomer?: boolean;
  /** Inside the caller's transaction (an API call's Idempotency-Key is recorded with the entry). */
  tx?: Tx;
}

/**
 * Log a note, an attempted fix, or a reply to the customer (which is also emailed to them, from
 * the same transaction's outbox). Entries only add, so a stale page does not stop them.
 */
export function addWorkLog(ctx: ServiceContext, reference: string, input: WorkLogInput, opts: AddWorkLogOptions = {}) {
  if (input.kind === 'CUSTOMER_REPLY') {
    throw new ValidationError('Only the customer writes customer replies.', { kind: 'Choose another kind of entry.' });
  }
  if (opts.waitForCustomer && input.kind !== 'REPLY') {
    throw new ValidationError('Only a reply to the customer can wait for their answer.', { waitForCustomer: 'Only for a reply.' });
  }
  // Setting the status is a ticket update: it needs that permission too.
  if (opts.waitForCustomer) assertCan(ctx.actor, 'ticket.update');
  // Large files' bytes are written before the transaction (src/services/attachments/store.ts).
  return withStagedFiles(ctx.db, input.files ?? [], (files) => mutateTicket(ctx, 'ticket.worklog', { reference }, async (tx, ticket) => {
    const entry = await appendWorkLog(tx, ctx.actor, ticket, { ...input, files }, { mentions: true });
    // A refused transition throws here: the transaction, the entry with it, is rolled back.
    const now = opts.waitForCustomer ? await applyStatusChange(tx, ctx, ticket, 'WAITING_ON_CUSTOMER', { mail: false }) : ticket;
    if (entry.kind === 'REPLY') {
      // The reply's files go with the mail as attachments (read from the store when it is sent).
      const attachments = entry.attachments.map((a) => ({ id: a.id, fileName: a.fileName, mediaType: a.mediaType, size: a.size }));
      await queueTicketMail(tx, now, 'REPLY', { body: entry.body, author: ctx.actor.name, ...(attachments.length ? { attachments } : {}) });
    }
    return entry;
  }, opts.tx));
}
