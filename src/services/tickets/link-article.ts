import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import type { Actor, ServiceContext } from '../context.js';
import { ValidationError } from '../errors.js';
import { mutateTicket } from './mutate.js';

async function publishedArticle(tx: Tx, articleId: number) {
  const article = await tx.article.findUnique({ where: { id: articleId }, select: { id: true, title: true, status: true } });
  if (!article || article.status !== 'PUBLISHED') {
    throw new ValidationError('Choose a published article.', { articleId: 'Choose a published article.' });
  }
  return article;
}

/** Links an article to a ticket (once) with its LINKED history row, in the caller's transaction. */
export async function attachArticle(tx: Tx, actor: Actor, ticket: Ticket, articleId: number): Promise<void> {
  const article = await publishedArticle(tx, articleId);
  const existing = await tx.ticketArticle.findUnique({ where: { ticketId_articleId: { ticketId: ticket.id, articleId } } });
  if (existing) return;
  await tx.ticketArticle.create({ data: { ticketId: ticket.id, articleId, linkedById: actor.id } });
  await tx.ticketHistory.create({
    data: {
      ticketId: ticket.id,
      actorId: actor.id,
      action: 'LINKED',
      field: 'article',
      newRefId: article.id,
      newValue: article.title,
      ticketVersion: ticket.version,
    },
  });
}

/** Link a published knowledge-base article to a ticket. Links only add, like the work log. */
export function linkArticle(ctx: ServiceContext, reference: string, articleId: number) {
  return mutateTicket(ctx, 'ticket.update', { reference }, (tx, ticket) => attachArticle(tx, ctx.actor, ticket, articleId));
}

/** Remove a link; the history keeps that it was there. */
export function unlinkArticle(ctx: ServiceContext, reference: string, articleId: number) {
  return mutateTicket(ctx, 'ticket.update', { reference }, async (tx, ticket) => {
    if (ticket.resolutionArticleId === articleId) {
      throw new ValidationError('This article resolved the ticket: it stays linked.');
    }
    const link = await tx.ticketArticle.findUnique({
      where: { ticketId_articleId: { ticketId: ticket.id, articleId } },
      include: { article: { select: { title: true } } },
    });
    if (!link) throw new ValidationError('That article is not linked to this ticket.');
    await tx.ticketArticle.delete({ where: { ticketId_articleId: { ticketId: ticket.id, articleId } } });
    await tx.ticketHistory.create({
      data: {
        ticketId: ticket.id,
        actorId: ctx.actor.id,
        action: 'UNLINKED',
        field: 'article',
        oldRefId: articleId,
        oldValue: link.article.title,
        ticketVersion: ticket.version,
      },
    });
  });
}
