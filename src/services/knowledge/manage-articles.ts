import type { Tx } from '../../db/client.js';
import type { Article } from '../../generated/prisma/client.js';
import type { ArticleStatus, ArticleVisibility } from '../../generated/prisma/enums.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { requireText } from '../tickets/rules.js';
import { changeArticle, saveRevision } from './article-history.js';
import {
  assertArticleTransition,
  assertArticleVersion,
  assertCanEdit,
  findArticleOrThrow,
  normalizeTags,
} from './article-rules.js';

export interface ArticleContent {
  title: string;
  body: string;
  category?: string | null;
  tags?: readonly string[];
  visibility?: ArticleVisibility;
}

function content(input: ArticleContent) {
  return {
    title: requireText(input.title, 'title', 'A title'),
    body: requireText(input.body, 'body', 'The text'),
    category: input.category?.trim() || null,
    tags: normalizeTags(input.tags ?? []),
  };
}

/**
 * Write a new article. It starts as a draft: a technician's is a proposal for an admin to
 * publish. From a resolved ticket (`sourceReference`) it remembers where it came from.
 */
export async function createArticle(ctx: ServiceContext, input: ArticleContent & { sourceReference?: string | null }) {
  assertCan(ctx.actor, 'article.propose');
  const data = content(input);
  const visibility = can(ctx.actor, 'article.manage') ? (input.visibility ?? 'INTERNAL') : 'INTERNAL';
  return ctx.db.$transaction(async (tx) => {
    let sourceTicketId: number | null = null;
    if (input.sourceReference) {
      const source = await tx.ticket.findUnique({ where: { reference: input.sourceReference }, select: { id: true } });
      if (!source) throw new NotFoundError(`No ticket has the reference ${input.sourceReference}.`);
      sourceTicketId = source.id;
    }
    const article = await tx.article.create({
      data: { ...data, visibility, authorId: ctx.actor.id, sourceTicketId },
    });
    await tx.articleHistory.create({
      data: {
        articleId: article.id,
        actorId: ctx.actor.id,
        action: 'CREATED',
        newValue: JSON.stringify({ title: data.title, status: article.status, visibility, sourceTicketId }),
        createdAt: article.createdAt,
      },
    });
    await saveRevision(tx, ctx.actor, article);
    return article;
  });
}

async function mutateArticle<T>(
  ctx: ServiceContext,
  id: number,
  version: number,
  change: (tx: Tx, article: Article) => Promise<T>,
): Promise<T> {
  assertCan(ctx.actor, 'article.propose');
  return ctx.db.$transaction(async (tx) => {
    const article = await findArticleOrThrow(tx, id);
    assertCanEdit(ctx.actor, article);
    assertArticleVersion(article, version);
    return change(tx, article);
  });
}

/** Edit the content (a new revision) and, for admins, the visibility. */
export function updateArticle(ctx: ServiceContext, id: number, version: number, input: ArticleContent) {
  return mutateArticle(ctx, id, version, (tx, article) => {
    const patch = { ...content(input), ...(can(ctx.actor, 'article.manage') && input.visibility ? { visibility: input.visibility } : {}) };
    return changeArticle(tx, ctx.actor, article, patch);
  });
}

/** Publish, archive, restore or take back to draft: admins only. */
export function setArticleStatus(ctx: ServiceContext, id: number, version: number, status: ArticleStatus) {
  assertCan(ctx.actor, 'article.manage');
  return mutateArticle(ctx, id, version, (tx, article) => {
    if (article.status === status) return Promise.resolve(article);
    assertArticleTransition(article.status, status);
    return changeArticle(tx, ctx.actor, article, {
      status,
      ...(status === 'PUBLISHED' && !article.publishedAt ? { publishedAt: new Date() } : {}),
    });
  });
}

/**
 * "Turn this resolution into an article": what a new draft starts from, written from a resolved
 * ticket's problem, environment, workaround and resolution.
 */
export async function draftFromTicket(ctx: ServiceContext, reference: string) {
  assertCan(ctx.actor, 'article.propose');
  const t = await ctx.db.ticket.findUnique({ where: { reference } });
  if (!t) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  if (!t.resolutionCode) {
    throw new ValidationError(`Ticket ${reference} has no resolution yet: resolve it first.`);
  }
  const sections = [
    ['Problem', t.description],
    ['Environment', t.environment],
    ['When and how it happens', t.occurrence],
    ['Workaround', t.workaround],
    ['Resolution', t.resolutionNote],
  ]
    .filter(([, text]) => text)
    .map(([heading, text]) => `## ${heading}\n\n${text}`);
  return {
    title: t.title,
    body: sections.join('\n\n'),
    category: null,
    tags: [] as string[],
    sourceReference: reference,
  };
}
