import type { Tx } from '../../db/client.js';
import type { Article } from '../../generated/prisma/client.js';
import type { Actor } from '../context.js';
import { ConflictError } from '../errors.js';

export type ArticlePatch = Partial<Pick<Article, 'title' | 'body' | 'category' | 'tags' | 'status' | 'visibility' | 'publishedAt'>>;

const CONTENT = ['title', 'body', 'category', 'tags'] as const;
const TRACKED = ['title', 'body', 'category', 'tags', 'status', 'visibility'] as const;

const show = (v: unknown) => (v === null || v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v));

/**
 * The only way an article changes: applies the patch at the expected version, writes one
 * history row per changed field, and, when the content changed, saves the new content as the
 * next revision — all in the caller's transaction.
 */
export async function changeArticle(tx: Tx, actor: Actor, article: Article, patch: ArticlePatch): Promise<Article> {
  const changed = TRACKED.filter((f) => f in patch && show(patch[f]) !== show(article[f]));
  if (changed.length === 0) return article;
  const version = article.version + 1;
  const updatedAt = new Date();
  const { count } = await tx.article.updateMany({
    where: { id: article.id, version: article.version },
    data: { ...patch, version, updatedAt },
  });
  if (count === 0) throw new ConflictError(`“${article.title}” was changed by someone else meanwhile.`);
  const next = { ...article, ...patch, version, updatedAt };
  await tx.articleHistory.createMany({
    data: changed.map((field) => ({
      articleId: article.id,
      actorId: actor.id,
      action: 'CHANGED' as const,
      field,
      // A body's text lives in its revisions; the history names the revision.
      oldValue: field === 'body' ? `revision ${article.version}` : show(article[field]),
      newValue: field === 'body' ? `revision ${version}` : show(next[field]),
      createdAt: updatedAt,
    })),
  });
  if (changed.some((f) => (CONTENT as readonly string[]).includes(f))) {
    await saveRevision(tx, actor, next);
  }
  return next;
}

export async function saveRevision(tx: Tx, actor: Actor, article: Article): Promise<void> {
  await tx.articleRevision.create({
    data: {
      articleId: article.id,
      version: article.version,
      title: article.title,
      body: article.body,
      category: article.category,
      tags: article.tags,
      editorId: actor.id,
      createdAt: article.updatedAt,
    },
  });
}
