import { Prisma } from '../../generated/prisma/client.js';
import { STATUSES, URGENCIES, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { normalizeReference } from '../../domain/reference.js';
import { sql } from '../../db/client.js';
import type { Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { boundedSearchText } from '../search-text.js';
import { ValidationError } from '../errors.js';
import { logError } from '../../log.js';
import { onCacheNotice } from '../cache-notices.js';

export const QUEUE_PAGE_SIZE = 50;

/**
 * The queue's orders: urgency (critical first, then oldest first: the default), last update
 * (newest first), age (oldest first), waiting for us since (longest first; tickets nothing waits
 * for us on — waiting on the customer, resolved, closed — come last, oldest id first), due first
 * (the earliest SLA due time first, overdue ones at the top; tickets with no running SLA clock last).
 */
export const QUEUE_SORTS = ['urgency', 'updated', 'age', 'waiting', 'due'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

/** Where the previous page ended: the last row's place in the queue's order (one shape per sort). */
export type QueueCursor =
  | { sort?: 'urgency'; urgency: Urgency; createdAt: Date; id: number }
  | { sort: 'updated'; updatedAt: Date; id: number }
  | { sort: 'age'; createdAt: Date; id: number }
  | { sort: 'waiting'; awaitingSince: Date | null; id: number }
  | { sort: 'due'; slaDueAt: Date | null; id: number };

export interface QueueFilter {
  statuses: readonly TicketStatus[];
  urgency?: Urgency | undefined;
  assignee: 'anyone' | 'me' | 'unassigned' | number;
  /** Only these teams' tickets (one team, or "my teams"); undefined: every team. */
  teams?: readonly number[] | undefined;
  text?: string | undefined;
  sort?: QueueSort | undefined;
  after?: QueueCursor | undefined;
  /** The text as a tsquery (text form), parsed once by listQueue; not for callers to set. */
  parsed?: string | undefined;
}

export interface QueueRow {
  id: number;
  reference: string;
  title: string;
  urgency: Urgency;
  status: TicketStatus;
  /** The version the row shows (bulk actions and the "take it" shortcut send it: stale.ts's rules apply). */
  version: number;
  createdAt: Date;
  updatedAt: Date;
  customerName: string;
  customerOrganization: string | null;
  assigneeId: number | null;
  assigneeName: string | null;
  teamId: number;
  awaitingSince: Date | null;
  /** The earliest running SLA target's due time (null: none running). */
  slaDueAt: Date | null;
  /** An SLA policy applies (with no due time: its clocks are paused or met). */
  slaPolicyId: number | null;
  /** Changed since this user last opened it (or never opened, and not logged by them). */
  unseen: boolean;
  /** The customer wrote after this user last opened it. */
  newReply: boolean;
}

export interface QueuePage {
  rows: QueueRow[];
  next: QueueCursor | null;
  counts: Record<Urgency, number>;
  total: number;
  /**
   * A text search with more than SEARCH_COUNT_LIMIT matches: its counting stopped there, so
   * `counts` and `total` are lower bounds (the page shows the total as "1,000+").
   */
  countsCapped: boolean;
  /**
   * A text search that leaves resolved and closed tickets out (the default filter): how many of
   * them match it too, up to HIDDEN_MATCHES_LIMIT + 1 (more than the limit: "1,000+"). Null when
   * not counted: no text search, a reference found its ticket, or the filter includes them.
   */
  hiddenDone: number | null;
}

/** The most resolved or closed matches a search counts exactly (past it: "1,000+"). */
export const HIDDEN_MATCHES_LIMIT = 1000;
const DONE_STATUSES: readonly TicketStatus[] = ['RESOLVED', 'CLOSED'];

/**
 * An enum value written into the SQL text rather than sent as a parameter: PostgreSQL then plans
 * the query once per connection (a prepared statement's generic plan) instead of for every page
 * view, as it does when the statuses, the urgency and the LIMIT are parameters it cannot see.
 * Only known values get there.
 */
function literal<T extends string>(value: T, allowed: readonly T[], type: 'TicketStatus' | 'Urgency'): Prisma.Sql {
  if (!allowed.includes(value)) throw new Error(`Not a ${type}: ${String(value)}`);
  return Prisma.raw(`'${value}'::"${type}"`);
}

/** The filters other than the text (owner, teams, urgency) as conditions on the ticket `t`. */
function conditions(actorId: number, filter: QueueFilter, withUrgency: boolean): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (filter.assignee === 'me') where.push(Prisma.sql`t."assigneeId" = ${actorId}`);
  else if (filter.assignee === 'unassigned') where.push(Prisma.sql`t."assigneeId" IS NULL`);
  else if (typeof filter.assignee === 'number') where.push(Prisma.sql`t."assigneeId" = ${filter.assignee}`);
  if (filter.teams) {
    where.push(filter.teams.length ? Prisma.sql`t."teamId" IN (${Prisma.join(filter.teams.map((id) => Prisma.sql`${id}::int`))})` : Prisma.sql`FALSE`);
  }
  if (withUrgency && filter.urgency) where.push(Prisma.sql`t.urgency = ${literal(filter.urgency, URGENCIES, 'Urgency')}`);
  return where;
}

/**
 * At most this many of a text search's matches on the ticket's own words (title, description) are
 * ranked for its page: a word in a tenth of a million tickets would otherwise have every one of
 * them read and ranked (~1 s) to show 50. Past it, the page shows the best of the first
 * RANK_CANDIDATES matches the index hands over (in table order: roughly the oldest first), and
 * the counts say there are more; a narrower search ranks every match.
 */
export const RANK_CANDIDATES = 1000;

/**
 * A text search's counts per urgency are exact up to this many matches; past it the page says
 * "1,000+ in all" (QueuePage.countsCapped), as the "N more resolved" hint does, instead of reading
 * every match: each costs a read of its row (~20 µs), 10,000 of them ~0.3 s and a word in a
 * tenth of a million tickets seconds, at each page view (README, "Search at scale").
 */
export const SEARCH_COUNT_LIMIT = 1000;

/** Text-search statements are planned for their values each time (unnamed: see sql()). */
const SEARCHED = { prepared: false } as const;

/**
 * The search's words as a tsquery: the one parseQuery made (a constant the planner can estimate
 * and that is parsed once per page, not in every part of three statements), else parsed in place.
 */
const tsquery = (filter: QueueFilter) =>
  filter.parsed !== undefined
    ? Prisma.sql`${filter.parsed}::tsquery`
    : Prisma.sql`websearch_to_tsquery('caseboard', caseboard_search_text(${boundedSearchText(filter.text)}))`;

/** The filter with its text parsed into a tsquery once (websearch syntax, stemming, accents). */
async function parseQuery(ctx: ServiceContext, filter: QueueFilter): Promise<QueueFilter> {
  const text = boundedSearchText(filter.text);
  if (!text || filter.parsed !== undefined) return filter;
  const [row] = await sql<{ q: string }>(ctx.db, `SELECT websearch_to_tsquery('caseboard', caseboard_search_text($1))::text AS q`, [text]);
  return { ...filter, parsed: row?.q ?? '' };
}

/**
 * The status filter as `status = A OR status = B …` (nothing when every status is asked for): so
 * that each status is its own scan of the (status, urgency, search) GIN index (btree_gin), whose
 * scans cannot take an IN list; a BitmapOr merges them. Only the ticket's own words use it.
 */
function statusOr(statuses: readonly TicketStatus[]): Prisma.Sql {
  if (STATUSES.every((s) => statuses.includes(s))) return Prisma.sql`TRUE`;
  // Resolved and closed tickets are nine in ten: intersecting their huge entries in the index with
  // the words' costs more than checking the status on the rows the words find, which a LIMIT stops
  // early ("jira mailbox", first 1,001 resolved or closed: 93–113 ms through the index, 50–65 ms
  // on the rows; the open ones: 38–40 ms through the index, 280–400 ms on the rows). Compared
  // as text, so that the planner cannot make it an index condition.
  if (statuses.some((s) => DONE_STATUSES.includes(s))) {
    for (const st of statuses) literal(st, STATUSES, 'TicketStatus');
    return Prisma.sql`t.status::text IN (${Prisma.raw(statuses.map((st) => `'${st}'`).join(', '))})`;
  }
  return Prisma.sql`(${Prisma.join(statuses.map((s) => Prisma.sql`t.status = ${literal(s, STATUSES, 'TicketStatus')}`), ' OR ')})`;
}
const statusIn = (statuses: readonly TicketStatus[]) => Prisma.sql`t.status IN (${Prisma.join(statuses.map((s) => literal(s, STATUSES, 'TicketStatus')))})`;

/**
 * The tickets a text search finds (id, urgency), each once, in three parts that never overlap:
 * 1. words in the title or description (the ticket's generated tsvector), websearch syntax
 *    ("a phrase", OR, -word), stemmed, accents ignored — through the GIN index on
 *    (status, urgency, search), which hands over only the statuses asked for;
 * 2. else words in its work log (each entry's tsvector, GIN);
 * 3. else the text inside the customer's name or email (trigram GIN), the customer's tickets by
 *    (customerId, status).
 * The parts are a UNION ALL read in that order, so a LIMIT above stops reading at once (a UNION
 * would read every match of every part first). The words go through caseboard_search_text, as the
 * indexed text does (a long token is split alike).
 */
function matchesSql(actorId: number, filter: QueueFilter, statuses: readonly TicketStatus[], withUrgency: boolean): Prisma.Sql {
  const text = boundedSearchText(filter.text);
  const pattern = `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  const q = tsquery(filter);
  const where = and(conditions(actorId, filter, withUrgency));
  const notOwn = Prisma.sql`NOT coalesce(t.search @@ ${q}, false)`;
  return Prisma.sql`
    (SELECT t.id, t.urgency FROM "Ticket" t WHERE t.search @@ ${q} AND ${statusOr(statuses)} AND ${where})
    UNION ALL
    (SELECT t.id, t.urgency FROM "Ticket" t
      WHERE t.id IN (SELECT w."ticketId" FROM "WorkLogEntry" w WHERE w.search @@ ${q})
        AND ${statusIn(statuses)} AND ${where} AND ${notOwn})
    UNION ALL
    (SELECT t.id, t.urgency FROM "Customer" c JOIN "Ticket" t ON t."customerId" = c.id
      WHERE (c.name ILIKE ${pattern} OR c.email ILIKE ${pattern}) AND ${statusIn(statuses)} AND ${where} AND ${notOwn}
        AND NOT EXISTS (SELECT 1 FROM "WorkLogEntry" w WHERE w."ticketId" = t.id AND w.search @@ ${q}))`;
}

/**
 * A text search's page: the best matches first (rank of the words in the title and description,
 * among the first RANK_CANDIDATES of them; matches only in the work log or the customer come
 * after, and are read only when the words do not fill the page), then urgency and age — or, with
 * another sort chosen, in that order; the first QUEUE_PAGE_SIZE, with no further pages (refine
 * the search instead).
 */
function rankedRowsSql(actorId: number, filter: QueueFilter): Prisma.Sql | null {
  if (filter.statuses.length === 0) return null;
  const text = boundedSearchText(filter.text);
  const pattern = `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  const q = tsquery(filter);
  const where = and(conditions(actorId, filter, true));
  const byRank = !filter.sort || filter.sort === 'urgency';
  // Another order chosen: the matches in that order instead of by rank.
  const order = byRank ? Prisma.sql`m.rank DESC, t.urgency, t."createdAt", t.id` : Prisma.raw(ORDER[filter.sort!].branch);
  // The candidates carry the order's columns: the page's 50 are chosen before any join.
  const pageOrder = byRank ? Prisma.sql`m.rank DESC, m.urgency, m."createdAt", m.id` : Prisma.raw(ORDER[filter.sort!].page.replace(/page\./g, 'm.'));
  const carried = Prisma.raw('t.urgency, t."createdAt", t."updatedAt", t."awaitingSince", t."slaDueAt"');
  const k = Prisma.raw(String(RANK_CANDIDATES));
  const notOwn = Prisma.sql`NOT coalesce(t.search @@ ${q}, false)`;
  return Prisma.sql`
    WITH own AS MATERIALIZED (
      SELECT t.id, ts_rank_cd(t.search, ${q}, 32) AS rank, ${carried} FROM "Ticket" t
      WHERE t.search @@ ${q} AND ${statusOr(filter.statuses)} AND ${where}
      LIMIT ${k}
    ), more AS MATERIALIZED (
      SELECT m.*, 0::real AS rank FROM (
        (SELECT t.id, ${carried} FROM "Ticket" t
          WHERE t.id IN (SELECT w."ticketId" FROM "WorkLogEntry" w WHERE w.search @@ ${q} LIMIT ${k})
            AND ${statusIn(filter.statuses)} AND ${where} AND ${notOwn})
        UNION
        (SELECT t.id, ${carried} FROM "Customer" c JOIN "Ticket" t ON t."customerId" = c.id
          WHERE (c.name ILIKE ${pattern} OR c.email ILIKE ${pattern}) AND ${statusIn(filter.statuses)} AND ${where} AND ${notOwn}
          LIMIT ${k})
      ) m
      ${byRank ? Prisma.sql`WHERE (SELECT count(*) FROM own) < ${Prisma.raw(String(QUEUE_PAGE_SIZE))}` : Prisma.empty}
    )
    ${selectRow(actorId)}
    FROM (
      SELECT m.id, m.rank, m.urgency, m."createdAt", m."updatedAt", m."awaitingSince", m."slaDueAt" FROM (
        SELECT id, rank, urgency, "createdAt", "updatedAt", "awaitingSince", "slaDueAt" FROM own
        UNION ALL SELECT id, rank, urgency, "createdAt", "updatedAt", "awaitingSince", "slaDueAt" FROM more) m
      ORDER BY ${pageOrder} LIMIT ${Prisma.raw(String(QUEUE_PAGE_SIZE))}) m
    JOIN "Ticket" t ON t.id = m.id ${joins(actorId)}
    ORDER BY ${order}`;
}

const and = (parts: Prisma.Sql[]) => (parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`TRUE`);

// Times come as epoch milliseconds: turning those into Dates costs a tenth of parsing PostgreSQL's
// text form, which was the largest part of reading a page of rows.
// The marks compare the ticket with the user's TicketView row (joined by its primary key):
// "updated" when its version moved past the one they saw — or they never opened it and did not log
// it themselves —, "new reply" when the customer wrote after they last opened it.
const selectRow = (actorId: number) => Prisma.sql`
    SELECT t.id, t.reference, t.title, t.urgency::text AS urgency, t.status::text AS status, t.version,
           (extract(epoch FROM t."createdAt") * 1000)::float8 AS "createdAt",
           (extract(epoch FROM t."updatedAt") * 1000)::float8 AS "updatedAt",
           (extract(epoch FROM t."awaitingSince") * 1000)::float8 AS "awaitingSince",
           (extract(epoch FROM t."slaDueAt") * 1000)::float8 AS "slaDueAt", t."slaPolicyId",
           c.name AS "customerName",
           (SELECT org.name FROM "Organization" org WHERE org.id = c."organizationId") AS "customerOrganization",
           t."assigneeId", u.name AS "assigneeName", t."teamId",
           CASE WHEN v."userId" IS NULL THEN t."createdById" IS DISTINCT FROM ${actorId}::int OR t.version > 1
                ELSE t.version > v."seenVersion" END AS unseen,
           coalesce(t."lastCustomerReplyAt" > v."seenAt", t."lastCustomerReplyAt" IS NOT NULL) AS "newReply"`;

type RawRow = Omit<QueueRow, 'createdAt' | 'updatedAt' | 'awaitingSince' | 'slaDueAt'> & {
  createdAt: number;
  updatedAt: number;
  awaitingSince: number | null;
  slaDueAt: number | null;
};

async function readRows(ctx: ServiceContext, query: Prisma.Sql, opts: { prepared?: boolean } = {}): Promise<QueueRow[]> {
  const rows = await sql<RawRow>(ctx.db, query.text, query.values, opts);
  return rows.map((r) => ({
    ...r,
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
    awaitingSince: r.awaitingSince === null ? null : new Date(r.awaitingSince),
    slaDueAt: r.slaDueAt === null ? null : new Date(r.slaDueAt),
  }));
}
const joins = (actorId: number) => Prisma.sql`JOIN "Customer" c ON c.id = t."customerId" LEFT JOIN "User" u ON u.id = t."assigneeId"
    LEFT JOIN "TicketView" v ON v."userId" = ${actorId}::int AND v."ticketId" = t.id`;

/**
 * One page of the queue, critical first then oldest first, with keyset pagination.
 * Each status is read as its own ordered index range (status, urgency, createdAt, id), and the
 * ranges are merged: PostgreSQL reads at most a page per status, whatever the table's size.
 */
async function queueRows(ctx: ServiceContext, filter: QueueFilter): Promise<QueueRow[]> {
  const text = !!filter.text?.trim();
  const query = text ? rankedRowsSql(ctx.actor.id, filter) : queueRowsSql(ctx.actor.id, filter);
  // A text search is planned for its words (SEARCHED): a generic plan knows neither how common
  // they are nor the customer pattern, and read all 50,000 customers for a name fragment.
  return query ? readRows(ctx, query, text ? SEARCHED : {}) : [];
}

/**
 * A reference typed into the text filter (loosely too) finds that ticket whatever its status
 * and the other filters; null when the text does not read as one or no ticket has it (a word like
 * "shows me" also reads as one): then the text is searched as words.
 */
async function ticketByReference(ctx: ServiceContext, filter: QueueFilter): Promise<QueueRow | null> {
  const reference = filter.text && !filter.after ? normalizeReference(filter.text) : null;
  if (!reference) return null;
  const [row] = await readRows(ctx, Prisma.sql`${selectRow(ctx.actor.id)} FROM "Ticket" t ${joins(ctx.actor.id)} WHERE t.reference = ${reference}`);
  return row ?? null;
}

/**
 * How many resolved or closed tickets a text search would also find with the same other filters
 * (owner, urgency), counted up to HIDDEN_MATCHES_LIMIT + 1 rows: one bounded query, run only for a
 * search whose status filter has neither (null otherwise).
 */
async function hiddenDoneMatches(ctx: ServiceContext, filter: QueueFilter): Promise<number | null> {
  if (!boundedSearchText(filter.text) || filter.statuses.some((s) => DONE_STATUSES.includes(s))) return null;
  // Kept for a while per search: tickets that are done change seldom, and the number is only a
  // hint; the same search again (the next page, a colleague's) costs nothing.
  let kept = hiddenCaches.get(ctx.db);
  if (!kept) hiddenCaches.set(ctx.db, (kept = new Map()));
  const key = JSON.stringify([filter.assignee === 'me' ? ctx.actor.id : filter.assignee, filter.teams ?? null, filter.urgency ?? null, filter.text?.trim() ?? '']);
  const hit = kept.get(key);
  if (hit && Date.now() - hit.at < HIDDEN_TTL_MS) return hit.n;
  const n = await countHiddenDone(ctx, filter);
  if (kept.size >= 500) kept.clear();
  kept.set(key, { at: Date.now(), n });
  return n;
}

const HIDDEN_TTL_MS = 30_000;
let hiddenCaches = new WeakMap<Db, Map<string, { at: number; n: number }>>();

/**
 * Forgets this process's kept search counts (per urgency, and the resolved or closed matches):
 * the next page of any search counts again, as a search nobody made in the last seconds does.
 * For the search benchmark (scripts/bench-search.ts), which measures every search as a new one.
 */
export function forgetSearchCounts(): void {
  hiddenCaches = new WeakMap();
  invalidateQueueCounts();
}

async function countHiddenDone(ctx: ServiceContext, filter: QueueFilter): Promise<number> {
  const query = Prisma.sql`
    SELECT count(*)::int AS n FROM (
      ${matchesSql(ctx.actor.id, filter, DONE_STATUSES, true)}
      LIMIT ${Prisma.raw(String(HIDDEN_MATCHES_LIMIT + 1))}) hidden`;
  const [row] = await sql<{ n: number }>(ctx.db, query.text, query.values, SEARCHED);
  return row?.n ?? 0;
}

/**
 * Each sort's order: the columns (with directions) that an index per status, and per owner and
 * status, holds in the same order and directions (schema.prisma), so each status's range is read
 * in order and stops after a page. `page` names the same columns on the merged branches.
 */
const ORDER: Record<QueueSort, { branch: string; page: string; columns: string }> = {
  urgency: { branch: 't.urgency, t."createdAt", t.id', page: 'page.urgency, page."createdAt", page.id', columns: 't.urgency, t."createdAt"' },
  updated: { branch: 't."updatedAt" DESC, t.id DESC', page: 'page."updatedAt" DESC, page.id DESC', columns: 't."updatedAt"' },
  age: { branch: 't."createdAt", t.id', page: 'page."createdAt", page.id', columns: 't."createdAt"' },
  waiting: { branch: 't."awaitingSince", t.id', page: 'page."awaitingSince", page.id', columns: 't."awaitingSince"' },
  due: { branch: 't."slaDueAt", t.id', page: 'page."slaDueAt", page.id', columns: 't."slaDueAt"' },
};

/** The keyset condition: rows after the cursor in the sort's order (null: from the start). */
function afterCursor(sort: QueueSort, a: QueueCursor | undefined): Prisma.Sql | null {
  if (!a) return null;
  if ((a.sort ?? 'urgency') !== sort) throw new ValidationError('That page link is not valid.');
  switch (a.sort) {
    case undefined:
    case 'urgency':
      return Prisma.sql`(t.urgency, t."createdAt", t.id) > (${literal(a.urgency, URGENCIES, 'Urgency')}, ${a.createdAt}::timestamptz, ${a.id}::int)`;
    case 'updated':
      return Prisma.sql`(t."updatedAt", t.id) < (${a.updatedAt}::timestamptz, ${a.id}::int)`;
    case 'age':
      return Prisma.sql`(t."createdAt", t.id) > (${a.createdAt}::timestamptz, ${a.id}::int)`;
    case 'waiting':
      // Waiting tickets (oldest first), then those nothing waits for us on (by id): see branches.
      return a.awaitingSince === null
        ? Prisma.sql`t."awaitingSince" IS NULL AND t.id > ${a.id}::int`
        : Prisma.sql`(t."awaitingSince", t.id) > (${a.awaitingSince}::timestamptz, ${a.id}::int)`;
    case 'due':
      return a.slaDueAt === null
        ? Prisma.sql`t."slaDueAt" IS NULL AND t.id > ${a.id}::int`
        : Prisma.sql`(t."slaDueAt", t.id) > (${a.slaDueAt}::timestamptz, ${a.id}::int)`;
  }
}

/** One queue page's SQL by filters (null: no status, nothing to show). */
function queueRowsSql(actorId: number, filter: QueueFilter): Prisma.Sql | null {
  const sort = filter.sort ?? 'urgency';
  const order = ORDER[sort];
  const limit = Prisma.raw(String(QUEUE_PAGE_SIZE + 1));
  const base = conditions(actorId, filter, true);
  const after = afterCursor(sort, filter.after);
  const branch = (status: TicketStatus, where: Prisma.Sql[]) => Prisma.sql`(SELECT t.id, ${Prisma.raw(order.columns)} FROM "Ticket" t
       WHERE t.status = ${literal(status, STATUSES, 'TicketStatus')} AND ${and(where)}
       ORDER BY ${Prisma.raw(order.branch)} LIMIT ${limit})`;
  const branches: Prisma.Sql[] = [];
  for (const status of filter.statuses) {
    if (sort !== 'waiting' && sort !== 'due') {
      branches.push(branch(status, after ? [...base, after] : base));
      continue;
    }
    // "Waiting for us since" ascending, NULLS LAST: two ranges of the same (status, awaitingSince,
    // id) index, each read in order — the waiting tickets after the cursor, then those with no
    // time (all of them, or after the cursor's id once the pages have reached them). A row
    // comparison never matches a NULL, and an OR of both would read the index from its start.
    // The same for "due first" on slaDueAt.
    const column = sort === 'waiting' ? 't."awaitingSince"' : 't."slaDueAt"';
    const inNulls =
      (filter.after?.sort === 'waiting' && filter.after.awaitingSince === null) || (filter.after?.sort === 'due' && filter.after.slaDueAt === null);
    if (!inNulls) branches.push(branch(status, [...base, Prisma.raw(`${column} IS NOT NULL`), ...(after ? [after] : [])]));
    branches.push(branch(status, [...base, after && inNulls ? after : Prisma.raw(`${column} IS NULL`)]));
  }
  if (branches.length === 0) return null;
  return Prisma.sql`
    ${selectRow(actorId)}
    FROM (${Prisma.join(branches, ' UNION ALL ')}) page
    JOIN "Ticket" t ON t.id = page.id ${joins(actorId)}
    ORDER BY ${Prisma.raw(order.page)}
    LIMIT ${limit}`;
}

/** A queue page's SQL with its values, as listQueue runs it (a text search's too): for EXPLAIN in scripts/bench*.ts. */
export function queueExplainSql(actor: { id: number }, filter: QueueFilter): { text: string; values: unknown[] } {
  const query = filter.text?.trim() ? rankedRowsSql(actor.id, filter) : queueRowsSql(actor.id, filter);
  if (!query) throw new Error('That filter matches nothing.');
  return { text: query.text, values: query.values };
}

/*
 * Counts per urgency are a GROUP BY over every matching ticket: ~0.1 s at a million tickets
 * (~80,000 that need work), far too dear for every page view. So, per database and filter:
 * - they are kept for COUNTS_TTL_MS; after that the page shows them while they are counted
 *   again in the background;
 * - a ticket created by this process is added to the kept counts it belongs to, without a count;
 * - after any other change by this process (invalidateQueueCounts) the next page waits for a new
 *   count, so that one's own changes show at once;
 * - pages that need a count while one runs wait for that one: at most one count per filter runs
 *   at a time, however many pages ask (before, every page view after the TTL ran its own).
 * Other processes' changes show within COUNTS_TTL_MS.
 */
const COUNTS_TTL_MS = 5_000;
type Counts = Record<Urgency, number>;
/** Counts per urgency; capped: a text search's, stopped at SEARCH_COUNT_LIMIT matches (lower bounds). */
interface Counted {
  value: Counts;
  capped: boolean;
}
interface CreatedTicket {
  status: TicketStatus;
  urgency: Urgency;
  assigneeId: number | null;
  teamId: number;
}
interface CountsEntry {
  at: number;
  value: Counts;
  capped: boolean;
  /** invalidateQueueCounts() calls when the count started; fewer than now: out of date. */
  changes: number;
  /** A ticket was created while counting, or one whose effect is unknown here (text filters). */
  dirty: boolean;
  /** Whether a new ticket belongs to these counts; null: cannot tell without a count. */
  includes: (t: CreatedTicket) => boolean | null;
}
interface CountsCache {
  entries: Map<string, CountsEntry>;
  counting: Map<string, Promise<Counted>>;
  created: number;
}
const countsCaches = new WeakMap<Db, CountsCache>();
let changes = 0;

/** This process changed some ticket: the next page counts again (see above). */
export function invalidateQueueCounts(): void {
  changes++;
}

// Another instance changed a ticket (heard on the live feed, at most once a second: src/web/cache-sync.ts).
onCacheNotice('queue', invalidateQueueCounts);

/** This process created a ticket: it is added to the kept counts it belongs to. */
export function countCreatedTicket(db: Db, ticket: CreatedTicket): void {
  const cache = countsCaches.get(db);
  if (!cache) return;
  cache.created++;
  for (const entry of cache.entries.values()) {
    const included = entry.includes(ticket);
    if (included === null) entry.dirty = true;
    else if (included) entry.value = { ...entry.value, [ticket.urgency]: entry.value[ticket.urgency] + 1 };
  }
}

async function countNow(ctx: ServiceContext, filter: QueueFilter): Promise<Counted> {
  const value = Object.fromEntries(URGENCIES.map((u) => [u, 0])) as Counts;
  if (filter.statuses.length === 0) return { value, capped: false };
  // A text search: its matches (matchesSql), at most SEARCH_COUNT_LIMIT + 1 of them read.
  const query = boundedSearchText(filter.text)
    ? Prisma.sql`
    SELECT m.urgency::text AS urgency, count(*)::int AS n FROM (
      ${matchesSql(ctx.actor.id, filter, filter.statuses, false)}
      LIMIT ${Prisma.raw(String(SEARCH_COUNT_LIMIT + 1))}) m GROUP BY m.urgency`
    : Prisma.sql`
    SELECT t.urgency::text AS urgency, count(*)::int AS n FROM "Ticket" t
    WHERE ${statusIn(filter.statuses)} AND ${and(conditions(ctx.actor.id, filter, false))} GROUP BY t.urgency`;
  let total = 0;
  for (const r of await sql<{ urgency: Urgency; n: number }>(ctx.db, query.text, query.values, boundedSearchText(filter.text) ? SEARCHED : {})) {
    value[r.urgency] = r.n;
    total += r.n;
  }
  return { value, capped: total > SEARCH_COUNT_LIMIT };
}

/** Counts now, unless a count of this filter is running already: then its result. */
function recount(ctx: ServiceContext, cache: CountsCache, key: string, filter: QueueFilter): Promise<Counted> {
  const running = cache.counting.get(key);
  if (running) return running;
  const changesBefore = changes;
  const createdBefore = cache.created;
  const actorId = ctx.actor.id;
  const counting = countNow(ctx, filter)
    .then((counted) => {
      if (cache.entries.size >= 500) cache.entries.clear();
      cache.entries.set(key, {
        at: Date.now(),
        value: counted.value,
        capped: counted.capped,
        changes: changesBefore,
        dirty: cache.created !== createdBefore,
        includes: (t) => {
          if (filter.text?.trim()) return null;
          if (!filter.statuses.includes(t.status)) return false;
          if (filter.teams && !filter.teams.includes(t.teamId)) return false;
          if (filter.assignee === 'anyone') return true;
          if (filter.assignee === 'unassigned') return t.assigneeId === null;
          return t.assigneeId === (filter.assignee === 'me' ? actorId : filter.assignee);
        },
      });
      return counted;
    })
    .finally(() => cache.counting.delete(key));
  cache.counting.set(key, counting);
  return counting;
}

async function queueCounts(ctx: ServiceContext, filter: QueueFilter): Promise<Counted> {
  let cache = countsCaches.get(ctx.db);
  if (!cache) countsCaches.set(ctx.db, (cache = { entries: new Map(), counting: new Map(), created: 0 }));
  const key = JSON.stringify([
    filter.statuses,
    filter.assignee === 'me' ? ctx.actor.id : filter.assignee,
    filter.teams ?? null,
    filter.text?.trim() ?? '',
  ]);
  const entry = cache.entries.get(key);
  if (!entry || entry.dirty || entry.changes !== changes) return recount(ctx, cache, key, filter);
  if (Date.now() - entry.at >= COUNTS_TTL_MS) {
    recount(ctx, cache, key, filter).catch((err: unknown) => logError('[queue] counting failed:', err));
  }
  return { value: entry.value, capped: entry.capped };
}

/** The cursor after `row` in the sort's order. */
function cursorOf(sort: QueueSort, row: QueueRow): QueueCursor {
  switch (sort) {
    case 'urgency':
      return { urgency: row.urgency, createdAt: row.createdAt, id: row.id };
    case 'updated':
      return { sort, updatedAt: row.updatedAt, id: row.id };
    case 'age':
      return { sort, createdAt: row.createdAt, id: row.id };
    case 'waiting':
      return { sort, awaitingSince: row.awaitingSince, id: row.id };
    case 'due':
      return { sort, slaDueAt: row.slaDueAt, id: row.id };
  }
}

export async function listQueue(ctx: ServiceContext, filter: QueueFilter): Promise<QueuePage> {
  assertCan(ctx.actor, 'ticket.read');
  // Found by its reference: the page is that ticket, and the counts are its own (counting the
  // text as words, as before, showed the ticket above counts of 0).
  const exact = await ticketByReference(ctx, filter);
  if (exact) {
    const counts = Object.fromEntries(URGENCIES.map((u) => [u, u === exact.urgency ? 1 : 0])) as Counts;
    return { rows: [exact], next: null, counts, total: 1, countsCapped: false, hiddenDone: null };
  }
  filter = await parseQuery(ctx, filter);
  const [rows, counted, hiddenDone] = await Promise.all([queueRows(ctx, filter), queueCounts(ctx, filter), hiddenDoneMatches(ctx, filter)]);
  const hasMore = rows.length > QUEUE_PAGE_SIZE;
  const page = hasMore ? rows.slice(0, QUEUE_PAGE_SIZE) : rows;
  const last = page[page.length - 1];
  return {
    rows: page,
    next: hasMore && last ? cursorOf(filter.sort ?? 'urgency', last) : null,
    counts: counted.value,
    total: Object.values(counted.value).reduce((a, b) => a + b, 0),
    countsCapped: counted.capped,
    hiddenDone,
  };
}

/**
 * How many tickets a filter shows, counted up to `limit` rows at most (one bounded statement:
 * for saved views' counts, where "1,000+" says enough). Reads the same indexes as a page.
 */
export async function countQueueBounded(ctx: ServiceContext, filter: QueueFilter, limit: number): Promise<number> {
  assertCan(ctx.actor, 'ticket.read');
  if (filter.statuses.length === 0) return 0;
  filter = await parseQuery(ctx, filter);
  const limitSql = Prisma.raw(String(Math.max(1, Math.floor(limit))));
  const query = boundedSearchText(filter.text)
    ? Prisma.sql`SELECT count(*)::int AS n FROM (${matchesSql(ctx.actor.id, filter, filter.statuses, true)} LIMIT ${limitSql}) counted`
    : Prisma.sql`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM "Ticket" t WHERE ${statusIn(filter.statuses)} AND ${and(conditions(ctx.actor.id, filter, true))}
      LIMIT ${limitSql}) counted`;
  const [row] = await sql<{ n: number }>(ctx.db, query.text, query.values, boundedSearchText(filter.text) ? SEARCHED : {});
  return row?.n ?? 0;
}
