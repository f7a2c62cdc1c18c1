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

function conditions(actorId: number, filter: QueueFilter, withUrgency: boolean): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (filter.assignee === 'me') where.push(Prisma.sql`t."assigneeId" = ${actorId}`);
  else if (filter.assignee === 'unassigned') where.push(Prisma.sql`t."assigneeId" IS NULL`);
  else if (typeof filter.assignee === 'number') where.push(Prisma.sql`t."assigneeId" = ${filter.assignee}`);
  if (filter.teams) {
    where.push(filter.teams.length ? Prisma.sql`t."teamId" IN (${Prisma.join(filter.teams.map((id) => Prisma.sql`${id}::int`))})` : Prisma.sql`FALSE`);
  }
  if (withUrgency && filter.urgency) where.push(Prisma.sql`t.urgency = ${literal(filter.urgency, URGENCIES, 'Urgency')}`);
  const text = boundedSearchText(filter.text);
  if (text) where.push(Prisma.sql`t.id IN (${matchingTickets(text, filter.statuses)})`);
  return where;
}

/**
 * The tickets a text search finds: words in the title or description (the ticket's generated
 * tsvector) or in its work log (each entry's), with websearch syntax ("a phrase", OR, -word),
 * stemmed and accents ignored; or the text inside the customer's name or email. Each part is
 * read through its own index (GIN on the tsvectors, trigram GIN on name and email). The words go
 * through caseboard_search_text, as the indexed text does (a long token is split alike).
 */
function matchingTickets(text: string, statuses: readonly TicketStatus[]): Prisma.Sql {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  // The status filter here too: the word matches are read from the table once, not looked up again.
  const inStatuses = statuses.length ? Prisma.join(statuses.map((st) => literal(st, STATUSES, 'TicketStatus'))) : Prisma.sql`NULL`;
  return Prisma.sql`
    SELECT mt.id FROM "Ticket" mt
      WHERE mt.search @@ websearch_to_tsquery('caseboard', caseboard_search_text(${text})) AND mt.status IN (${inStatuses})
    UNION SELECT w."ticketId" FROM "WorkLogEntry" w WHERE w.search @@ websearch_to_tsquery('caseboard', caseboard_search_text(${text}))
    UNION SELECT ct.id FROM "Customer" c JOIN "Ticket" ct ON ct."customerId" = c.id
      WHERE c.name ILIKE ${pattern} OR c.email ILIKE ${pattern}`;
}

/**
 * A text search's page: the best matches first (rank of the words in the title and description;
 * matches only in the work log or the customer come after), then urgency and age — or, with
 * another sort chosen, in that order; the first QUEUE_PAGE_SIZE, with no further pages (refine
 * the search instead).
 */
function rankedRowsSql(actorId: number, filter: QueueFilter): Prisma.Sql | null {
  if (filter.statuses.length === 0) return null;
  const statuses = Prisma.join(filter.statuses.map((s) => literal(s, STATUSES, 'TicketStatus')));
  const text = boundedSearchText(filter.text);
  // Another order chosen: the matches in that order instead of by rank.
  const order =
    filter.sort && filter.sort !== 'urgency'
      ? Prisma.raw(ORDER[filter.sort].branch)
      : Prisma.sql`ts_rank_cd(t.search, websearch_to_tsquery('caseboard', caseboard_search_text(${text})), 32) DESC, t.urgency, t."createdAt", t.id`;
  return Prisma.sql`
    ${selectRow(actorId)}
    FROM "Ticket" t ${joins(actorId)}
    WHERE t.status IN (${statuses}) AND ${and(conditions(actorId, filter, true))}
    ORDER BY ${order}
    LIMIT ${Prisma.raw(String(QUEUE_PAGE_SIZE))}`;
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

async function readRows(ctx: ServiceContext, query: Prisma.Sql): Promise<QueueRow[]> {
  const rows = await sql<RawRow>(ctx.db, query.text, query.values);
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
  const query = filter.text?.trim() ? rankedRowsSql(ctx.actor.id, filter) : queueRowsSql(ctx.actor.id, filter);
  return query ? readRows(ctx, query) : [];
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
  const done: QueueFilter = { ...filter, statuses: DONE_STATUSES, after: undefined };
  const statuses = Prisma.join(DONE_STATUSES.map((s) => literal(s, STATUSES, 'TicketStatus')));
  const query = Prisma.sql`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM "Ticket" t WHERE t.status IN (${statuses}) AND ${and(conditions(ctx.actor.id, done, true))}
      LIMIT ${Prisma.raw(String(HIDDEN_MATCHES_LIMIT + 1))}) hidden`;
  const [row] = await sql<{ n: number }>(ctx.db, query.text, query.values);
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
interface CreatedTicket {
  status: TicketStatus;
  urgency: Urgency;
  assigneeId: number | null;
  teamId: number;
}
interface CountsEntry {
  at: number;
  value: Counts;
  /** invalidateQueueCounts() calls when the count started; fewer than now: out of date. */
  changes: number;
  /** A ticket was created while counting, or one whose effect is unknown here (text filters). */
  dirty: boolean;
  /** Whether a new ticket belongs to these counts; null: cannot tell without a count. */
  includes: (t: CreatedTicket) => boolean | null;
}
interface CountsCache {
  entries: Map<string, CountsEntry>;
  counting: Map<string, Promise<Counts>>;
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

async function countNow(ctx: ServiceContext, filter: QueueFilter): Promise<Counts> {
  const value = Object.fromEntries(URGENCIES.map((u) => [u, 0])) as Counts;
  if (filter.statuses.length === 0) return value;
  const statuses = Prisma.join(filter.statuses.map((s) => literal(s, STATUSES, 'TicketStatus')));
  const query = Prisma.sql`
    SELECT t.urgency::text AS urgency, count(*)::int AS n FROM "Ticket" t
    WHERE t.status IN (${statuses}) AND ${and(conditions(ctx.actor.id, filter, false))} GROUP BY t.urgency`;
  for (const r of await sql<{ urgency: Urgency; n: number }>(ctx.db, query.text, query.values)) value[r.urgency] = r.n;
  return value;
}

/** Counts now, unless a count of this filter is running already: then its result. */
function recount(ctx: ServiceContext, cache: CountsCache, key: string, filter: QueueFilter): Promise<Counts> {
  const running = cache.counting.get(key);
  if (running) return running;
  const changesBefore = changes;
  const createdBefore = cache.created;
  const actorId = ctx.actor.id;
  const counting = countNow(ctx, filter)
    .then((value) => {
      if (cache.entries.size >= 500) cache.entries.clear();
      cache.entries.set(key, {
        at: Date.now(),
        value,
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
      return value;
    })
    .finally(() => cache.counting.delete(key));
  cache.counting.set(key, counting);
  return counting;
}

async function queueCounts(ctx: ServiceContext, filter: QueueFilter): Promise<Counts> {
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
  return entry.value;
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
    return { rows: [exact], next: null, counts, total: 1, hiddenDone: null };
  }
  const [rows, counts, hiddenDone] = await Promise.all([queueRows(ctx, filter), queueCounts(ctx, filter), hiddenDoneMatches(ctx, filter)]);
  const hasMore = rows.length > QUEUE_PAGE_SIZE;
  const page = hasMore ? rows.slice(0, QUEUE_PAGE_SIZE) : rows;
  const last = page[page.length - 1];
  return {
    rows: page,
    next: hasMore && last ? cursorOf(filter.sort ?? 'urgency', last) : null,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
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
  const statuses = Prisma.join(filter.statuses.map((s) => literal(s, STATUSES, 'TicketStatus')));
  const query = Prisma.sql`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM "Ticket" t WHERE t.status IN (${statuses}) AND ${and(conditions(ctx.actor.id, { ...filter, after: undefined }, true))}
      LIMIT ${Prisma.raw(String(Math.max(1, Math.floor(limit))))}) counted`;
  const [row] = await sql<{ n: number }>(ctx.db, query.text, query.values);
  return row?.n ?? 0;
}
