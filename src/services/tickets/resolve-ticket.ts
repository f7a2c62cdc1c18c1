import type { ResolutionCode } from '../../domain/enums.js';
import { isActive, transitionRefusal } from '../../domain/status.js';
import { normalizeReference } from '../../domain/reference.js';
import type { ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { changeTicket } from './history.js';
import { mutateTicket, type TicketTarget } from './mutate.js';
import { requireText } from './rules.js';
import { attachArticle } from './link-article.js';
import { queueTicketMail } from '../mail/outbox.js';

export interface Resolution {
  code: ResolutionCode;
  note: string;
  /** Staff only: what colleagues should know about the fix (never mailed, never on a customer page). */
  internalNote?: string | null;
  /** With DUPLICATE: the reference of the original ticket. */
  duplicateOf?: string | null;
  /** "Resolved by article": a published knowledge-base article that holds the answer (it is linked too). */
  articleId?: number | null;
}

/**
 * Resolve with a reason: a code and a note; a duplicate names its original, which must exist;
 * "resolved by article" names a published article, which is linked to the ticket as well.
 * The customer is mailed the resolution: its code and note, never the internal note beside it.
 */
export function resolveTicket(ctx: ServiceContext, target: TicketTarget, resolution: Resolution) {
  return mutateTicket(ctx, 'ticket.resolve', target, async (tx, ticket) => {
    if (!isActive(ticket.status)) {
      throw new ValidationError(transitionRefusal(ticket.status, 'RESOLVED'));
    }
    const note = requireText(resolution.note, 'resolutionNote', 'A resolution note');
    // Each resolution has its own internal note, or none (a reopened ticket's earlier one stays in the history).
    const internalResolutionNote = resolution.internalNote?.trim() || null;
    let duplicateOfId: number | null = null;
    if (resolution.code === 'DUPLICATE') {
      const typed = resolution.duplicateOf?.trim() ?? '';
      const reference = normalizeReference(typed);
      const original = reference ? await tx.ticket.findUnique({ where: { reference } }) : null;
      if (!original) {
        throw new ValidationError(
          typed ? `No ticket has the reference ${typed}.` : 'A duplicate needs the reference of the original ticket.',
          { duplicateOf: 'Enter the reference of the original ticket, e.g. CB-7K2M9QX.' },
        );
      }
      if (original.id === ticket.id) {
        throw new ValidationError('A ticket cannot be a duplicate of itself.', { duplicateOf: 'Enter another ticket.' });
      }
      duplicateOfId = original.id;
    }
    const resolutionArticleId = resolution.articleId ?? null;
    if (resolutionArticleId !== null) await attachArticle(tx, ctx.actor, ticket, resolutionArticleId);
    const resolved = await changeTicket(
      tx,
      ctx.actor,
      ticket,
      { status: 'RESOLVED', resolutionCode: resolution.code, resolutionNote: note, internalResolutionNote, duplicateOfId, resolutionArticleId },
      { resolvedAt: new Date() },
    );
    await queueTicketMail(tx, resolved, 'RESOLVED', { resolutionCode: resolution.code, resolutionNote: note });
    return resolved;
  });
}
