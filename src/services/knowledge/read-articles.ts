import { Prisma } from '../../generated/prisma/client.js';
import type { ArticleStatus } from '../../generated/prisma/enums.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { assertCanSee } from './article-rules.js';

export const SEARCH_PAGE_SIZE = 20;
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
 * websearch_to_tsquery ("quotes", OR, -word), ranked, with highlighted snippets; titles also
 * match with typos (pg_trgm similarity). Without a query: the most recently updated.
 */
export async function searchArticles(
  ctx: ServiceContext,
  opts: { q?: string; status?: ArticleStatus; category?: string; page?: number },
): Promise<{ hits: ArticleHit[]; hasMore: boolean }> {
  assertCan(ctx.actor, 'article.read');
  const page = Math.max(0, Math.min(opts.page ?? 0, 50));
  const q = opts.q?.trim() ?? '';
  const category = opts.category?.trim() ? Prisma.sql`AND a.category = ${opts.category.trim()}` : Prisma.empty;
  const limit = SEARCH_PAGE_SIZE + 1;
  const offset = page * SEARCH_PAGE_SIZE;
  const rows = q
    ? await ctx.db.$queryRaw<ArticleHit[]>`
        WITH q AS (SELECT websearch_to_tsquery('caseboard', ${q}) AS query)
        SELECT a.id, a.title, a.category, a.tags, a.status::text AS status, a.visibility::text AS visibility,
               a."updatedAt",
               (ts_rank_cd(a.search, q.query, 32) + 0.5 * similarity(a.title, ${q}))::float8 AS rank,
               ts_headline('caseboard', a.body, q.query,
                 ${`StartSel=${HIT_START}, StopSel=${HIT_END}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`}) AS snippet
        FROM "Article" a, q
        WHERE (a.search @@ q.query OR a.title % ${q}) AND ${visibleTo(ctx, opts.status)} ${category}
        ORDER BY rank DESC, a.id DESC
        LIMIT ${limit} OFFSET ${offset}`
    : await ctx.db.$queryRaw<ArticleHit[]>`
        SELECT a.id, a.title, a.category, a.tags, a.status::text AS status, a.visibility::text AS visibility,
               a."updatedAt", 0::float8 AS rank, left(a.body, 240) AS snippet
        FROM "Article" a
        WHERE ${visibleTo(ctx, opts.status)} ${category}
        ORDER BY a."updatedAt" DESC, a.id DESC
        LIMIT ${limit} OFFSET ${offset}`;
  return { hits: rows.slice(0, SEARCH_PAGE_SIZE), hasMore: rows.length > SEARCH_PAGE_SIZE };
}

/** Published articles that match a new ticket's title, best first: shown while the ticket is typed. */
export async function suggestArticles(ctx: ServiceContext, title: string, limit = 5) {
  assertCan(ctx.actor, 'article.read');
  const words = title.trim();
  if (words.length < 3) return [];
  return ctx.db.$queryRaw<{ id: number; title: string; category: string | null }[]>`
    WITH q AS (SELECT to_tsquery('caseboard', ${orQuery(words)}) AS query)
    SELECT a.id, a.title, a.category
    FROM "Article" a, q
    WHERE a.status = 'PUBLISHED' AND (a.search @@ q.query OR a.title % ${words})
    ORDER BY (ts_rank_cd(a.search, q.query, 32) + similarity(a.title, ${words})) DESC, a.id DESC
    LIMIT ${limit}`;
}

/**
 * The words of a sentence as a tsquery that matches any of them ("printer | blank | pages"),
 * for suggestions, where every word need not match. Only letters and digits reach the query.
 */
export function orQuery(text: string): string {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []).slice(0, 12);
  return words.length ? words.join(' | ') : "''";
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
