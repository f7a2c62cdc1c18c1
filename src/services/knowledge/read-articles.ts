import { Prisma } from '../../generated/prisma/client.js';
import type { ArticleStatus } from '../../generated/prisma/enums.js';
import type { Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { assertCanSee } from './article-rules.js';
import { boundedSearchText } from '../search-text.js';

export const SEARCH_PAGE_SIZE = 20;
/** A search ranks at most this many of its matches (the first the index hands over): 50 pages and more. */
export const RANK_CANDIDATES = 2000;
/** Snippets come from this much of an article's body (most articles are shorter). */
const SNIPPET_SOURCE_CHARS = 20_000;
/** Marks around matched words in snippets; the presenter escapes the text, then turns them into <mark>. */
export const HIT_START = '\u0002';
export const HIT_END = '\u0003';

export interface ArticleHit {
  id: number;
  title: string;
  category: string | null;
  tags: string[];
  status: ArticleStatus;
  visibility: string;
  updatedAt: Date;
  rank: number;
  snippet: string;
}

/** What an actor may see in lists: admins everything (or one status), others published ones and their own drafts. */
function visibleTo(ctx: ServiceContext, status?: ArticleStatus): Prisma.Sql {
  if (can(ctx.actor, 'article.manage')) {
    return status ? Prisma.sql`a.status = ${status}::"ArticleStatus"` : Prisma.sql`a.status <> 'ARCHIVED'`;
  }
  if (status && status !== 'PUBLISHED') {
    return Prisma.sql`a.status = ${status}::"ArticleStatus" AND a."authorId" = ${ctx.actor.id}`;
  }
  return status ? Prisma.sql`a.status = 'PUBLISHED'` : Prisma.sql`(a.status = 'PUBLISHED' OR (a.status = 'DRAFT' AND a."authorId" = ${ctx.actor.id}))`;
}

/**
 * Full-text search over title (weighted highest), tags and body with PostgreSQL's
 * websearch_to_tsquery ("quotes", OR, -word), ranked, with highlighted snippets. When the words
 * find less than a page, titles that look like the text (pg_trgm similarity: typos) follow.
 * Without a query: the most recently updated.
 */
export async function searchArticles(
  ctx: ServiceContext,
  opts: { q?: string; status?: ArticleStatus; category?: string; page?: number },
): Promise<{ hits: ArticleHit[]; hasMore: boolean }> {
  assertCan(ctx.actor, 'article.read');
  return searchWhere(ctx.db, visibleTo(ctx, opts.status), opts);
}

/** Published articles marked for customers: what the public help centre shows. */
export const PUBLIC_ARTICLES = Prisma.sql`a.status = 'PUBLISHED' AND a.visibility = 'PUBLIC'`;

/** The search itself, among the articles `visible` lets through (staff's view, or the public one). */
export async function searchWhere(
  db: Db,
  visible: Prisma.Sql,
  opts: { q?: string; category?: string; page?: number },
): Promise<{ hits: ArticleHit[]; hasMore: boolean }> {
  const page = Math.max(0, Math.min(opts.page ?? 0, 50));
  const q = boundedSearchText(opts.q);
  const category = opts.category?.trim() ? Prisma.sql`AND a.category = ${opts.category.trim()}` : Prisma.empty;
  const limit = SEARCH_PAGE_SIZE + 1;
  const offset = page * SEARCH_PAGE_SIZE;
  const columns = Prisma.sql`a.id, a.title, a.category, a.tags, a.status::text AS status, a.visibility::text AS visibility, a."updatedAt"`;
  if (!q) {
    const rows = await db.$queryRaw<ArticleHit[]>`
      SELECT ${columns}, 0::float8 AS rank, left(a.body, 240) AS snippet
      FROM "Article" a
      WHERE ${visible} ${category}
      ORDER BY a."updatedAt" DESC, a.id DESC
      LIMIT ${limit} OFFSET ${offset}`;
    return { hits: rows.slice(0, SEARCH_PAGE_SIZE), hasMore: rows.length > SEARCH_PAGE_SIZE };
  }
  const headline = `StartSel=${HIT_START}, StopSel=${HIT_END}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;
  // The query and the snippet's text go through caseboard_search_text, as the indexed text does
  // (migration 20261204010000_bounded_search): the parser's cost stays linear in the body. The
  // snippet marks the query's words (caseboard_headline_query: at most 12, no phrases), as
  // ts_headline's cost is exponential in a phrase's length, and is taken from the first
  // SNIPPET_SOURCE_CHARS of the body (a page shows 20: each is parsed again for its snippet).
  // Ranked among the first RANK_CANDIDATES matches only, as the suggestions are: a common word
  // matches a third of a large knowledge base, and reading and ranking every match took 0.2–0.4 s
  // at 100,000 articles (README, "Search at scale"). A narrower search ranks every match.
  const rows = await db.$queryRaw<ArticleHit[]>`
    WITH q AS (SELECT websearch_to_tsquery('caseboard', caseboard_search_text(${q})) AS query),
    candidates AS (
      SELECT a.id, a.search FROM "Article" a, q
      WHERE a.search @@ q.query AND ${visible} ${category}
      LIMIT ${RANK_CANDIDATES}
    ),
    page AS (
      SELECT c.id, ts_rank_cd(c.search, q.query, 32)::float8 AS rank
      FROM candidates c, q
      ORDER BY rank DESC, c.id DESC
      LIMIT ${limit} OFFSET ${offset}
    )
    SELECT ${columns}, page.rank, ts_headline('caseboard', caseboard_search_text(left(a.body, ${SNIPPET_SOURCE_CHARS})), caseboard_headline_query(q.query), ${headline}) AS snippet
    FROM page JOIN "Article" a ON a.id = page.id, q
    ORDER BY page.rank DESC, a.id DESC`;
  // Too few, and plain words (no "phrase", OR or -word the user meant exactly): titles that look
  // like the text (typos) follow the word matches.
  const plainWords = !/["]|(^|\s)-\S|\sOR\s/i.test(q);
  if (rows.length >= limit || page > 0 || !plainWords) {
    return { hits: rows.slice(0, SEARCH_PAGE_SIZE), hasMore: rows.length > SEARCH_PAGE_SIZE };
  }
  const found = rows.map((r) => r.id);
  const similar = await db.$queryRaw<ArticleHit[]>`
    SELECT ${columns}, similarity(a.title, ${q})::float8 AS rank, left(a.body, 240) AS snippet
    FROM "Article" a
    WHERE a.title % ${q} AND ${visible} ${category}
      AND a.id <> ALL(${found}::int[])
    ORDER BY rank DESC, a.id DESC
    LIMIT ${limit - rows.length}`;
  const hits = [...rows, ...similar];
  return { hits: hits.slice(0, SEARCH_PAGE_SIZE), hasMore: hits.length > SEARCH_PAGE_SIZE };
}

/**
 * Published articles that match a new ticket's title, best first: shown while the ticket is
 * typed. All the words first; if that finds nothing, any of them, ranked among the first
 * matches only (a common word may match half the knowledge base).
 */
export async function suggestArticles(ctx: ServiceContext, title: string, limit = 5) {
  assertCan(ctx.actor, 'article.read');
  return suggestWhere(ctx.db, Prisma.sql`a.status = 'PUBLISHED'`, title, limit);
}

/** The suggestions themselves, among the articles `visible` lets through. */
export async function suggestWhere(db: Db, visible: Prisma.Sql, title: string, limit = 5) {
  const words = boundedSearchText(title);
  if (words.length < 3) return [];
  for (const query of [andQuery(words), orQuery(words)]) {
    if (!query) break; // no words at all: nothing can match
    const rows = await db.$queryRaw<{ id: number; title: string; category: string | null }[]>`
      WITH q AS (SELECT to_tsquery('caseboard', ${query}) AS query),
      candidates AS (
        SELECT a.id, a.search FROM "Article" a, q
        WHERE ${visible} AND a.search @@ q.query
        LIMIT ${RANK_CANDIDATES}
      )
      SELECT a.id, a.title, a.category
      FROM candidates c JOIN "Article" a ON a.id = c.id, q
      ORDER BY ts_rank_cd(c.search, q.query, 32) DESC, a.id DESC
      LIMIT ${limit}`;
    if (rows.length) return rows;
  }
  return [];
}

/** The words of a sentence as a tsquery that needs all of them. */
export function andQuery(text: string): string {
  return words(text).join(' & ');
}

/**
 * The words of a sentence as a tsquery that matches any of them ("printer | blank | pages"),
 * for suggestions, where every word need not match. Only letters and digits reach the query.
 */
export function orQuery(text: string): string {
  return words(text).join(' | ');
}

function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []).slice(0, 12);
}

export async function getArticle(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'article.read');
  const article = await ctx.db.article.findUnique({
    where: { id },
    include: {
      author: { select: { id: true, name: true } },
      sourceTicket: { select: { reference: true, title: true } },
      history: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: { actor: { select: { name: true } } } },
      revisions: {
        orderBy: { version: 'desc' },
        select: { id: true, version: true, title: true, createdAt: true, editor: { select: { name: true } } },
      },
      _count: { select: { tickets: true } },
    },
  });
  if (!article) throw new NotFoundError('No such article.');
  assertCanSee(ctx.actor, article);
  return article;
}

/** Two saved revisions of an article, for viewing one or comparing them. */
export async function getRevisions(ctx: ServiceContext, id: number, versions: number[]) {
  const article = await getArticle(ctx, id);
  const revisions = await ctx.db.articleRevision.findMany({
    where: { articleId: id, version: { in: versions } },
    include: { editor: { select: { name: true } } },
  });
  const byVersion = new Map(revisions.map((r) => [r.version, r]));
  const found = versions.map((v) => byVersion.get(v));
  if (found.some((r) => !r)) throw new NotFoundError('No such revision of this article.');
  return { article, revisions: found as NonNullable<(typeof found)[number]>[] };
}

/** Categories in use, for the filter. */
export async function articleCategories(ctx: ServiceContext): Promise<string[]> {
  assertCan(ctx.actor, 'article.read');
  const rows = await ctx.db.$queryRaw<{ category: string }[]>`
    SELECT DISTINCT category FROM "Article" WHERE category IS NOT NULL AND status = 'PUBLISHED' ORDER BY category LIMIT 200`;
  return rows.map((r) => r.category);
}
