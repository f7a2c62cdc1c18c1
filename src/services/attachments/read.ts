// Reading an attached file: who may is decided here, whoever asks (the ticket page, a
// customer's private link, the quarantine). The type served is the one detected from the bytes
// when they were stored; how it is served (inline or as a download) is the web layer's
// (src/web/send-file.ts).
import type pg from 'pg';
import { PUBLIC_WORKLOG_KINDS } from '../../domain/enums.js';
import type { Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { AppError, NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';
import { contentStore } from './store.js';

export interface FileDownload {
  id: number;
  fileName: string;
  mediaType: string;
  size: number;
  sha256: string;
  /** Null when the asker already holds these bytes (`have` was their SHA-256): nothing was read. */
  bytes: Buffer | null;
}

/** What the asker holds already: the SHA-256 of a copy (a browser's If-None-Match). */
export interface ReadOptions {
  have?: string | null;
}

/** A redacted file: its name stays (the entry says what was there), its bytes are gone. */
export class RedactedError extends AppError {
  override readonly status = 410;
  constructor(
    /** The file's name (without who redacted it: customers are told only that it was). */
    readonly fileName: string,
    by: string,
    at: Date,
  ) {
    super(`${fileName} was redacted by ${by} at ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC: it can no longer be read.`);
  }
}

const select = {
  id: true,
  fileName: true,
  mediaType: true,
  size: true,
  sha256: true,
  redactedAt: true,
  redactedBy: { select: { name: true } },
} as const;

type Row = { id: number; fileName: string; mediaType: string; size: number; sha256: string | null; redactedAt: Date | null; redactedBy: { name: string } | null };

async function load(db: Db, row: Row | null, opts: ReadOptions): Promise<FileDownload> {
  if (!row) throw new NotFoundError('There is no such file.');
  if (row.redactedAt || !row.sha256) throw new RedactedError(row.fileName, row.redactedBy?.name ?? 'an admin', row.redactedAt ?? new Date(0));
  // A browser revalidating its copy (every thumbnail on every view of a ticket page): the decision
  // above is all it needs, not the bytes (up to 20 MB each).
  if (opts.have === row.sha256) return { id: row.id, fileName: row.fileName, mediaType: row.mediaType, size: row.size, sha256: row.sha256, bytes: null };
  const bytes = await contentStore().get(db, row.sha256);
  // Released by a redaction between the two reads.
  if (!bytes) throw new NotFoundError('There is no such file.');
  return { id: row.id, fileName: row.fileName, mediaType: row.mediaType, size: row.size, sha256: row.sha256, bytes };
}

/** Staff: any file of a ticket they can read. */
export async function readTicketFile(ctx: ServiceContext, reference: string, id: number, opts: ReadOptions = {}): Promise<FileDownload> {
  assertCan(ctx.actor, 'ticket.read');
  const row = await ctx.db.attachment.findFirst({ where: { id, ticket: { reference } }, select });
  return load(ctx.db, row, opts);
}

/**
 * Staff sorting mail: a file held with an inbound mail that is not on a ticket — still waiting,
 * or discarded. Once the mail is on a ticket its files are the ticket's (served, and redacted,
 * there): the copy kept while it waited is not served any more.
 */
export async function readMailFile(ctx: ServiceContext, inboundMailId: number, id: number, opts: ReadOptions = {}): Promise<FileDownload> {
  assertCan(ctx.actor, 'mail.triage');
  const row = await ctx.db.attachment.findFirst({
    where: { id, inboundMailId, ticketId: null, inboundMail: { state: { in: ['QUARANTINED', 'DISCARDED'] } } },
    select,
  });
  return load(ctx.db, row, opts);
}

/**
 * The customer, through their own private link (the caller proved it: `ticketId` is the link's):
 * files of public entries only (staff replies and their own replies), and those of the initial
 * report when they reported it themselves (web form, email). Never a note's or attempted fix's.
 */
export async function readCustomerFile(db: Db, ticketId: number, id: number, opts: ReadOptions = {}): Promise<FileDownload> {
  const row = await db.attachment.findFirst({
    where: {
      id,
      ticketId,
      OR: [
        { workLogEntry: { kind: { in: [...PUBLIC_WORKLOG_KINDS] } } },
        { workLogEntryId: null, ticket: { createdById: null } },
      ],
    },
    select,
  });
  return load(db, row, opts);
}

/** A reply's file as its mail carries it; bytes null: redacted since the reply was written. */
export interface ReplyFile {
  id: number;
  fileName: string;
  mediaType: string;
  bytes: Buffer | null;
}

/**
 * The files a reply's mail carries (`files`: its payload's list, in that order), read when it is
 * sent, in one query over the pool (outside any transaction; not through Prisma: see store.ts). Only
 * files of the mail's own ticket; one redacted since (its link to the bytes cut), or not found,
 * comes with no bytes. The payload lists at most the attachment limits' worth, and only that is
 * read. It reads "FileContent" itself, as postgresStore does (store.ts): another store would read
 * the hashes from here.
 */
export async function readReplyFiles(pool: pg.Pool, ticketId: number, files: readonly { id: number; fileName: string }[]): Promise<ReplyFile[]> {
  const { rows } = await pool.query<{ id: number; mediaType: string; bytes: Buffer | null }>(
    `SELECT a.id, a."mediaType", f.bytes
       FROM "Attachment" a LEFT JOIN "FileContent" f ON f.sha256 = a.sha256 AND a."redactedAt" IS NULL
      WHERE a.id = ANY($1::int[]) AND a."ticketId" = $2`,
    [files.map((f) => f.id), ticketId],
  );
  const found = new Map(rows.map((r) => [r.id, r]));
  return files.map((f) => ({
    id: f.id,
    fileName: f.fileName,
    mediaType: found.get(f.id)?.mediaType ?? 'application/octet-stream',
    bytes: found.get(f.id)?.bytes ?? null,
  }));
}
