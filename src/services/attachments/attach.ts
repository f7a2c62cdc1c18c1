// Adding files to a ticket: in the caller's transaction, the bytes (once per hash), one
// Attachment row per file and one ATTACHMENT_ADDED history row per file, so that an entry and its
// files and their history are all there or none is.
import type { Tx } from '../../db/client.js';
import type { Attachment, Ticket } from '../../generated/prisma/client.js';
import { actorColumns, type AnyActor } from '../context.js';
import { detectMediaType, type IncomingFile } from './files.js';
import { contentStore } from './store.js';

export interface AttachTarget {
  /** The entry the files came with; null: the ticket's initial report. */
  workLogEntryId: number | null;
  /** The inbound mail they came with, if any. */
  inboundMailId?: number | null;
  /** When the files were added (the entry's time, so that page order and history agree). */
  at?: Date;
}

/** Who adds files: an actor, or the history columns naming one. */
export type Adder = AnyActor | { actorId: number | null; actorCustomerId: number | null };
const columnsOf = (by: Adder | null) =>
  by === null ? { actorId: null, actorCustomerId: null } : 'actorId' in by ? by : actorColumns(by);

/** Where a new attachment row belongs and who added it. */
type Placement = Pick<Attachment, 'ticketId' | 'workLogEntryId' | 'inboundMailId' | 'addedById' | 'addedByCustomerId'>;

/** Keeps the bytes (once per hash) and writes the file's row, its type detected from the bytes. */
async function keepFile(tx: Tx, file: IncomingFile, at: Date, placement: Placement): Promise<Attachment> {
  await contentStore().put(tx, file);
  return tx.attachment.create({
    data: {
      fileName: file.fileName,
      mediaType: await detectMediaType(file.bytes),
      size: file.bytes.length,
      sha256: file.sha256,
      contentId: file.contentId ?? null,
      inline: file.inline ?? false,
      createdAt: at,
      ...placement,
    },
  });
}

/** One ATTACHMENT_ADDED history row per file, by whoever added them. */
async function recordAdded(tx: Tx, by: { actorId: number | null; actorCustomerId: number | null }, ticket: Pick<Ticket, 'id' | 'version'>, rows: readonly Attachment[], at: Date): Promise<void> {
  await tx.ticketHistory.createMany({
    data: rows.map((row) => ({
      ticketId: ticket.id,
      ...by,
      action: 'ATTACHMENT_ADDED' as const,
      field: 'attachment',
      newValue: row.fileName,
      newRefId: row.id,
      ticketVersion: ticket.version,
      createdAt: at,
    })),
  });
}

/** Stores the files on the ticket, in the caller's transaction; the rows, in the files' order. */
export async function storeAttachments(
  tx: Tx,
  actor: Adder | null,
  ticket: Pick<Ticket, 'id' | 'version'>,
  target: AttachTarget,
  files: readonly IncomingFile[],
): Promise<Attachment[]> {
  if (files.length === 0) return [];
  const by = columnsOf(actor);
  const createdAt = target.at ?? new Date();
  const rows: Attachment[] = [];
  for (const file of files) {
    rows.push(
      await keepFile(tx, file, createdAt, {
        ticketId: ticket.id,
        workLogEntryId: target.workLogEntryId,
        inboundMailId: target.inboundMailId ?? null,
        addedById: by.actorId,
        addedByCustomerId: by.actorCustomerId,
      }),
    );
  }
  if (by.actorId !== null || by.actorCustomerId !== null) await recordAdded(tx, by, ticket, rows, createdAt);
  return rows;
}

/**
 * Files held with an inbound mail that has no ticket yet (quarantine): stored with the mail, not
 * on any ticket, until staff attach the mail to a ticket or turn it into one (followMailFiles).
 */
export async function holdMailAttachments(tx: Tx, inboundMailId: number, files: readonly IncomingFile[], at: Date): Promise<Attachment[]> {
  const rows: Attachment[] = [];
  for (const file of files) {
    rows.push(await keepFile(tx, file, at, { ticketId: null, workLogEntryId: null, inboundMailId, addedById: null, addedByCustomerId: null }));
  }
  return rows;
}

/**
 * A quarantined mail's files follow it to the ticket staff put it on: a new attachment row per
 * file on that entry (the same bytes: nothing is copied), each with its history row by `actor`
 * (the staff member who decided). Redacted files stay redacted: they do not follow.
 */
export async function followMailFiles(
  tx: Tx,
  actor: AnyActor,
  inboundMailId: number,
  ticket: Pick<Ticket, 'id' | 'version'>,
  workLogEntryId: number | null,
  at: Date,
): Promise<Attachment[]> {
  const held = await tx.attachment.findMany({
    where: { inboundMailId, ticketId: null, redactedAt: null },
    orderBy: { id: 'asc' },
  });
  if (held.length === 0) return [];
  const by = actorColumns(actor);
  const rows: Attachment[] = [];
  for (const h of held) {
    rows.push(
      await tx.attachment.create({
        data: {
          fileName: h.fileName,
          mediaType: h.mediaType,
          size: h.size,
          sha256: h.sha256,
          contentId: h.contentId,
          inline: h.inline,
          createdAt: at,
          ticketId: ticket.id,
          workLogEntryId,
          inboundMailId,
          addedById: by.actorId,
          addedByCustomerId: by.actorCustomerId,
        },
      }),
    );
  }
  await recordAdded(tx, by, ticket, rows, at);
  return rows;
}
