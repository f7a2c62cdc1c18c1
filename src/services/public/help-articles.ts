// The public help centre: published articles marked PUBLIC, readable and searchable by anyone,
// with the knowledge base's own search and suggestions. Internal articles, drafts and archived
// ones never leave the staff side.
import type { Db } from '../../db/client.js';
import { NotFoundError } from '../errors.js';
import { PUBLIC_ARTICLES, searchWhere, suggestWhere } from '../knowledge/read-articles.js';

/** Ranked full-text search (websearch syntax, typo-tolerant titles); without words, the most recently updated. */
export function searchHelp(db: Db, q: string, page = 0) {
  return searchWhere(db, PUBLIC_ARTICLES, { q, page });
}

/** Public articles that match what a customer is about to report. */
export function suggestHelp(db: Db, title: string, limit = 5) {
  return suggestWhere(db, PUBLIC_ARTICLES, title, limit);
}

export async function getHelpArticle(db: Db, id: number) {
  const article = await db.article.findFirst({
    where: { id, status: 'PUBLISHED', visibility: 'PUBLIC' },
    select: { id: true, title: true, body: true, category: true, tags: true, publishedAt: true, updatedAt: true },
  });
  if (!article) throw new NotFoundError('There is no such help article.');
  return article;
}
