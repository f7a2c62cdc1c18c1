import type { Tx } from '../../db/client.js';
import type { Article } from '../../generated/prisma/client.js';
import type { ArticleStatus } from '../../generated/prisma/enums.js';
import type { Actor } from '../context.js';
import { can } from '../policy.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';

export async function findArticleOrThrow(tx: Tx, id: number): Promise<Article> {
  const article = await tx.article.findUnique({ where: { id } });
  if (!article) throw new NotFoundError('No such article.');
  return article;
}

/** Admins see every article; technicians see published ones and their own drafts. */
export function canSee(actor: Actor, article: Pick<Article, 'status' | 'authorId'>): boolean {
  return can(actor, 'article.manage') || article.status === 'PUBLISHED' || article.authorId === actor.id;
}

export function assertCanSee(actor: Actor, article: Pick<Article, 'status' | 'authorId'>): void {
  if (!canSee(actor, article)) throw new NotFoundError('No such article.');
}

/** Admins edit any article; a technician edits only a draft they proposed. */
export function assertCanEdit(actor: Actor, article: Article): void {
  if (can(actor, 'article.manage')) return;
  if (article.status === 'DRAFT' && article.authorId === actor.id) return;
  throw new ForbiddenError('Only an admin can edit this article; you can edit drafts you proposed.');
}

export function assertArticleVersion(article: Article, version: number): void {
  if (article.version !== version) throw new ConflictError(`“${article.title}” was changed by someone else meanwhile.`);
}

/** Publishing moves forward; an archived article can be published again, a published one taken back to draft. */
export const ARTICLE_TRANSITIONS: Readonly<Record<ArticleStatus, readonly ArticleStatus[]>> = {
  DRAFT: ['PUBLISHED', 'ARCHIVED'],
  PUBLISHED: ['ARCHIVED', 'DRAFT'],
  ARCHIVED: ['PUBLISHED'],
};

export function assertArticleTransition(from: ArticleStatus, to: ArticleStatus): void {
  if (!ARTICLE_TRANSITIONS[from].includes(to)) {
    throw new ValidationError(`An article cannot go from ${from.toLowerCase()} to ${to.toLowerCase()}.`);
  }
}

/** Tags: trimmed, lower-case, unique, at most 20 of at most 40 characters. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))];
  if (out.length > 20) throw new ValidationError('At most 20 tags.', { tags: 'At most 20 tags.' });
  if (out.some((t) => t.length > 40)) throw new ValidationError('A tag can be at most 40 characters.', { tags: 'A tag can be at most 40 characters.' });
  return out;
}
