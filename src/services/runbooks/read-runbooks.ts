import { Prisma } from '../../generated/prisma/client.js';
import type { RunbookStatus } from '../../generated/prisma/enums.js';
import type { Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { boundedSearchText } from '../search-text.js';
import { andQuery, orQuery } from '../knowledge/read-articles.js';
import { assertCanSeeRunbook, authoredBy } from './manage-runbooks.js';
import { keptFor } from '../kept.js';
import { onCacheNotice } from '../cache-notices.js';

export const RUNBOOK_PAGE_SIZE = 30;

export interface RunbookHit {
  id: number;
  title: string;
  category: string | null;
  status: RunbookStatus;
  summary: string;
  updatedAt: Date;
  currentNumber: number | null;
}

function visibleTo(ctx: ServiceContext, status?: RunbookStatus): Prisma.Sql {
  const own = Prisma.sql`EXISTS (SELECT 1 FROM "RunbookVersion" v WHERE v."runbookId" = r.id AND v."authorId" = ${ctx.actor.id})`;
  if (can(ctx.actor, 'runbook.manage')) return status ? Prisma.sql`r.status = ${status}::"RunbookStatus"` : Prisma.sql`r.status <> 'ARCHIVED'`;
  if (status === 'DRAFT') return Prisma.sql`r.status = 'DRAFT' AND ${own}`;
  if (status) return Prisma.sql`r.status = ${status}::"RunbookStatus"`;
  return Prisma.sql`(r.status = 'PUBLISHED' OR (r.status = 'DRAFT' AND ${own}))`;
}

/** Run books by words (title, keywords and category, summary), best first; without words the latest changed. */
export async function searchRunbooks(ctx: ServiceContext, opts: { q?: string; status?: RunbookStatus; page?: number }) {
  assertCan(ctx.actor, 'runbook.read');
  const page = Math.max(0, Math.min(opts.page ?? 0, 50));
  const q = boundedSearchText(opts.q);
  const visible = visibleTo(ctx, opts.status);
  const columns = Prisma.sql`r.id, r.title, r.category, r.status::text AS status, left(r.summary, 240) AS summary, r."updatedAt",
    (SELECT v.number FROM "RunbookVersion" v WHERE v.id = r."currentVersionId") AS "currentNumber"`;
  const limit = RUNBOOK_PAGE_SIZE + 1;
  const offset = page * RUNBOOK_PAGE_SIZE;
  const rows = q
    ? await ctx.db.$queryRaw<RunbookHit[]>`
        WITH q AS (SELECT websearch_to_tsquery('caseboard', caseboard_search_text(${q})) AS query)
        SELECT ${columns} FROM "Runbook" r, q
        WHERE r.search @@ q.query AND ${visible}
        ORDER BY ts_rank_cd(r.search, q.query, 32) DESC, r.id DESC
        LIMIT ${limit} OFFSET ${offset}`
    : await ctx.db.$queryRaw<RunbookHit[]>`
        SELECT ${columns} FROM "Runbook" r WHERE ${visible}
        ORDER BY r."updatedAt" DESC, r.id DESC
        LIMIT ${limit} OFFSET ${offset}`;
  return { hits: rows.slice(0, RUNBOOK_PAGE_SIZE), hasMore: rows.length > RUNBOOK_PAGE_SIZE };
}

/** A run book with its versions (drafts: admins' view, and each author's own) and its history. */
export async function getRunbook(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'runbook.read');
  const rb = await ctx.db.runbook.findUnique({
    where: { id },
    include: {
      currentVersion: { select: { number: true } },
      versions: {
        orderBy: { number: 'desc' },
        include: { author: { select: { id: true, name: true } }, publishedBy: { select: { name: true } }, _count: { select: { steps: true } } },
      },
      history: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: { actor: { select: { name: true } } } },
      _count: { select: { tickets: true } },
    },
  });
  if (!rb) throw new NotFoundError('No such run book.');
  const isAuthor = rb.versions.some((v) => v.authorId === ctx.actor.id);
  assertCanSeeRunbook(ctx.actor, rb, isAuthor);
  const admin = can(ctx.actor, 'runbook.manage');
  return { ...rb, versions: rb.versions.filter((v) => admin || v.status === 'PUBLISHED' || v.authorId === ctx.actor.id) };
}

/**
 * One version with its steps (a draft: for admins and its author). Steps say whether they have an
 * automation and its address — never the secret.
 */
export async function getRunbookVersion(ctx: ServiceContext, id: number, number: number) {
  assertCan(ctx.actor, 'runbook.read');
  const v = await ctx.db.runbookVersion.findUnique({
    where: { runbookId_number: { runbookId: id, number } },
    include: {
      runbook: true,
      author: { select: { name: true } },
      publishedBy: { select: { name: true } },
      steps: { orderBy: { position: 'asc' }, omit: { automationSecretId: true }, include: { article: { select: { id: true, title: true } } } },
    },
  });
  if (!v) throw new NotFoundError('No such version of this run book.');
  assertCanSeeRunbook(ctx.actor, v.runbook, await authoredBy(ctx.db, id, ctx.actor.id));
  if (v.status === 'DRAFT' && !can(ctx.actor, 'runbook.manage') && v.authorId !== ctx.actor.id) throw new NotFoundError('No such version of this run book.');
  return v;
}

/**
 * Published run books matching a ticket's words (its title and the start of its description), best
 * first: the same full-text approach as the article suggestions (all the words, then any of them).
 */
export async function suggestRunbooks(db: Db, text: string, exclude: readonly number[] = [], limit = 5) {
  const words = boundedSearchText(text);
  if (words.length < 3) return [];
  for (const query of [andQuery(words), orQuery(words)]) {
    if (!query) break;
    const rows = await db.$queryRaw<{ id: number; title: string; category: string | null }[]>`
      WITH q AS (SELECT to_tsquery('caseboard', ${query}) AS query),
      candidates AS (
        SELECT r.id, r.search FROM "Runbook" r, q
        WHERE r.status = 'PUBLISHED' AND r.search @@ q.query AND r.id <> ALL(${[...exclude]}::int[])
        LIMIT 2000
      )
      SELECT r.id, r.title, r.category
      FROM candidates c JOIN "Runbook" r ON r.id = c.id, q
      ORDER BY ts_rank_cd(c.search, q.query, 32) DESC, r.id DESC
      LIMIT ${limit}`;
    if (rows.length) return rows;
  }
  return [];
}

/**
 * Published run books to attach by hand (a select), by title; at most 500. Kept for a few seconds
 * per process (every ticket page shows them; publishing or archiving here drops the copy at once,
 * another instance's within 10 s).
 */
const published = keptFor(10_000, (db: Db) =>
  db.runbook.findMany({ where: { status: 'PUBLISHED' }, select: { id: true, title: true }, orderBy: { titleKey: 'asc' }, take: 500 }),
);

export function invalidatePublishedRunbooks(): void {
  published.drop();
}

onCacheNotice('runbooks', invalidatePublishedRunbooks);

export function attachableRunbooks(db: Db): Promise<{ id: number; title: string }[]> {
  return published.get(db);
}
