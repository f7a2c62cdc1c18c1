// The public help centre: published articles marked PUBLIC, readable and searchable by anyone.
// Internal articles, drafts and archived ones never leave the staff side.
import type { Db } from '../../db/client.js';
import { NotFoundError } from '../errors.js';
import { andQuery, HIT_END, HIT_START, orQuery } from '../knowledge/read-articles.js';

const PAGE = 20;

export interface HelpHit {
  id: number;
  title: string;
  category: string | null;
  snippet: string;
}

/** Ranked full-text search (websearch syntax); without words, the most recently updated. */
export async function searchHelp(db: Db, q: string, page = 0): Promise<{ hits: HelpHit[]; hasMore: boolean }> {
  const text = q.trim();
  const offset = Math.max(0, Math.min(page, 50)) * PAGE;
  const headline = `StartSel=${HIT_START}, StopSel=${HIT_END}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;
  const rows = text
    ? await db.$queryRaw<HelpHit[]>`
        WITH q AS (SELECT websearch_to_tsquery('caseboard', ${text}) AS query),
        page AS (
          SELECT a.id, ts_rank_cd(a.search, q.query, 32) AS rank FROM "Article" a, q
          WHERE a.search @@ q.query AND a.status = 'PUBLISHED' AND a.visibility = 'PUBLIC'
          ORDER BY rank DESC, a.id DESC LIMIT ${PAGE + 1} OFFSET ${offset}
        )
        SELECT a.id, a.title, a.category, ts_headline('caseboard', a.body, q.query, ${headline}) AS snippet
        FROM page JOIN "Article" a ON a.id = page.id, q
        ORDER BY page.rank DESC, a.id DESC`
    : await db.$queryRaw<HelpHit[]>`
        SELECT a.id, a.title, a.category, left(a.body, 240) AS snippet FROM "Article" a
        WHERE a.status = 'PUBLISHED' AND a.visibility = 'PUBLIC'
        ORDER BY a."updatedAt" DESC, a.id DESC LIMIT ${PAGE + 1} OFFSET ${offset}`;
  return { hits: rows.slice(0, PAGE), hasMore: rows.length > PAGE };
}

/** Public articles that match what a customer is about to report: all words first, then any. */
export async function suggestHelp(db: Db, title: string, limit = 5): Promise<{ id: number; title: string }[]> {
  if (title.trim().length < 3) return [];
  for (const query of [andQuery(title), orQuery(title)]) {
    if (!query) break; // no words at all: nothing can match
    const rows = await db.$queryRaw<{ id: number; title: string }[]>`
      WITH q AS (SELECT to_tsquery('caseboard', ${query}) AS query),
      candidates AS (
        SELECT a.id, a.search FROM "Article" a, q
        WHERE a.status = 'PUBLISHED' AND a.visibility = 'PUBLIC' AND a.search @@ q.query LIMIT 2000
      )
      SELECT a.id, a.title FROM candidates c JOIN "Article" a ON a.id = c.id, q
      ORDER BY ts_rank_cd(c.search, q.query, 32) DESC, a.id DESC LIMIT ${limit}`;
    if (rows.length) return rows;
  }
  return [];
}

export async function getHelpArticle(db: Db, id: number) {
  const article = await db.article.findFirst({
    where: { id, status: 'PUBLISHED', visibility: 'PUBLIC' },
    select: { id: true, title: true, body: true, category: true, tags: true, publishedAt: true, updatedAt: true },
  });
  if (!article) throw new NotFoundError('There is no such help article.');
  return article;
}
