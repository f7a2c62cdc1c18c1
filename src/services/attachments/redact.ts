// Redaction: an admin makes a file that was sent by mistake (a password, personal data)
// unreadable. The attachment row stays (its name, size and who added it: the entry still says a
// file was there) with who redacted it and when; its link to the bytes is cut, and the bytes are
// deleted once no attachment references them. One ATTACHMENT_REDACTED history row records it;
// nothing else in the history changes.
//
// The same bytes attached elsewhere (the customer mailed the file twice, or to two tickets) are
// separate attachments: redacting one leaves the others readable, and the admin is shown them
// (sameContent) and can redact every one at once ({ everywhere: true }), each with its own
// history row on its own ticket. Only then are the bytes deleted. The SHA-256 of a redacted
// file is forgotten too: a short secret's hash could be reversed by trying candidates.
//
// A file that came with a mail held in quarantine has a second row: the one kept with the message
// while it waited (services/attachments/attach.ts, followMailFiles). It is the same file of the
// same message, so redacting the file on the ticket redacts that row too, and it is not offered
// as "elsewhere".
import type { Tx } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { contentStore } from './store.js';

export interface SameContent {
  id: number;
  fileName: string;
  /** The ticket it is on; null: held with a quarantined mail. */
  reference: string | null;
  inboundMailId: number | null;
}

async function findOnTicket(tx: Tx, reference: string, id: number) {
  const row = await tx.attachment.findFirst({
    where: { id, ticket: { reference } },
    include: { ticket: { select: { id: true, version: true, reference: true } } },
  });
  if (!row) throw new NotFoundError('There is no such file on this ticket.');
  return row;
}

/** Other readable attachments with the same bytes (for the redaction page), at most 50. */
export async function sameContent(ctx: ServiceContext, reference: string, id: number): Promise<SameContent[]> {
  assertCan(ctx.actor, 'attachment.redact');
  const row = await findOnTicket(ctx.db, reference, id);
  if (!row.sha256) return [];
  const others = await ctx.db.attachment.findMany({
    where: { sha256: row.sha256, id: { not: row.id }, redactedAt: null, NOT: heldCopyOf(row) },
    select: { id: true, fileName: true, inboundMailId: true, ticket: { select: { reference: true } } },
    orderBy: { id: 'asc' },
    take: 50,
  });
  return others.map((o) => ({ id: o.id, fileName: o.fileName, reference: o.ticket?.reference ?? null, inboundMailId: o.inboundMailId }));
}

/** The row of the same file kept with the mail it came with, while that mail waited (none: matches nothing). */
const heldCopyOf = (row: { inboundMailId: number | null; sha256: string | null }) =>
  row.inboundMailId === null ? { id: -1 } : { inboundMailId: row.inboundMailId, ticketId: null, sha256: row.sha256 };

export interface RedactResult {
  /** Attachments redacted (1, or more with everywhere). */
  redacted: number;
  /** Whether the bytes were deleted (no attachment references them any more). */
  bytesDeleted: boolean;
}

/** Redacts one attachment of a ticket (or, with everywhere, every attachment with its bytes). */
export async function redactAttachment(
  ctx: ServiceContext,
  reference: string,
  id: number,
  opts: { everywhere?: boolean } = {},
): Promise<RedactResult> {
  assertCan(ctx.actor, 'attachment.redact');
  const result = await ctx.db.$transaction(async (tx) => {
    const row = await findOnTicket(tx, reference, id);
    if (row.redactedAt) throw new ValidationError(`${row.fileName} is already redacted.`);
    const sha = row.sha256!;
    const targets = opts.everywhere
      ? await tx.attachment.findMany({
          where: { sha256: sha, redactedAt: null },
          include: { ticket: { select: { id: true, version: true, reference: true } } },
          orderBy: { id: 'asc' },
        })
      : [row, ...(await tx.attachment.findMany({ where: { ...heldCopyOf(row), redactedAt: null }, include: { ticket: { select: { id: true, version: true, reference: true } } } }))];
    const at = new Date();
    for (const t of targets) {
      // The trigger allows this one change, once (a concurrent redaction makes it match nothing).
      const { count } = await tx.attachment.updateMany({
        where: { id: t.id, redactedAt: null },
        data: { redactedAt: at, redactedById: ctx.actor.id, sha256: null },
      });
      if (count === 0) throw new ValidationError(`${t.fileName} was redacted meanwhile.`);
      if (t.ticket) {
        await tx.ticketHistory.create({
          data: {
            ticketId: t.ticket.id,
            actorId: ctx.actor.id,
            action: 'ATTACHMENT_REDACTED',
            field: 'attachment',
            oldValue: t.fileName,
            newRefId: t.id,
            ticketVersion: t.ticket.version,
            createdAt: at,
          },
        });
      }
    }
    const bytesDeleted = await contentStore().release(tx, sha);
    return { redacted: targets.length, bytesDeleted };
  });
  return result;
}
