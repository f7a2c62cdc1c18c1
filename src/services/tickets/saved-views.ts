// Saved views: a named queue (its filters and sort, as the queue's query string has them), private
// to its owner or shared with all staff, listed beside the queue with a count.
//
// Counts: a view's count is bounded (up to VIEW_COUNT_LIMIT + 1 rows: "1,000+") and kept in
// PostgreSQL (SavedViewCount), so every instance shares it; when a page lists a view whose count
// is older than VIEW_COUNT_TTL_MS it is recounted after the page is answered, by one instance only
// (the one whose upsert claims it). A page view thus reads the views and their kept counts in one
// small statement and never waits for a count; at most one bounded count per view (per viewer
// for views that say "me") runs per minute, however many people look.
import { sql } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { countQueueBounded, type QueueFilter, type QueueSort } from './queue.js';
import { SavedViewFilters } from '../../web/schemas/tickets.js';
import { teamIdsOf } from '../teams/teams.js';
import { logError } from '../../log.js';
import { onCacheNotice } from '../cache-notices.js';

export const VIEW_COUNT_LIMIT = 1000;
const VIEW_COUNT_TTL_MS = 60_000;
/** The most views a list shows (own first, then shared), and the most one person keeps. */
export const VIEWS_LISTED = 50;
export const VIEW_NAME_MAX = 60;

/** The filters as the queue's URL has them (strings); stored as they were given. */
export interface ViewQuery {
  status?: string;
  urgency?: string;
  assignee?: string;
  team?: string;
  q?: string;
}
const QUERY_KEYS = ['status', 'urgency', 'assignee', 'team', 'q'] as const;

/** A view's filter: a team by id, or "my teams" (the viewer's, resolved when counted). */
type ViewFilter = Omit<QueueFilter, 'after' | 'teams'> & { team?: number | 'mine' | undefined };

export interface SavedViewLine {
  id: number;
  name: string;
  shared: boolean;
  /** The team it is shared with, if any. */
  teamName: string | null;
  mine: boolean;
  ownerName: string;
  /** The queue's query string for the view (filters and sort); null when it no longer reads. */
  query: string | null;
  /** The kept count (at most VIEW_COUNT_LIMIT + 1); null until first counted. */
  count: number | null;
}

/**
 * A stored view's filters, read back through the queue's own schema. Anything that does not read
 * (a view saved by an older version, a status that no longer exists, a hand-edited row) is null:
 * the view is listed, without a link or count, and can be deleted; the page never fails.
 */
function readView(filters: unknown, sort: unknown): { query: string; filter: ViewFilter } | null {
  if (filters === null || typeof filters !== 'object' || Array.isArray(filters)) return null;
  const raw: Record<string, unknown> = {};
  for (const key of QUERY_KEYS) {
    const value = Object.hasOwn(filters, key) ? (filters as Record<string, unknown>)[key] : undefined;
    if (value !== undefined) raw[key] = value;
  }
  if (sort !== 'urgency') raw.sort = sort;
  const parsed = SavedViewFilters.safeParse(raw);
  if (!parsed.success) return null;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'string' && value !== '') params.set(key, value);
  const f = parsed.data;
  return {
    query: params.toString(),
    filter: { statuses: f.status, urgency: f.urgency, assignee: f.assignee, team: f.team, text: f.q, sort: f.sort },
  };
}

interface Row {
  id: number;
  name: string;
  shared: boolean;
  teamName: string | null;
  ownerId: number;
  ownerName: string;
  filters: unknown;
  sort: string;
  n: number | null;
  stale: boolean;
}

// A view whose filter says "me" or "my teams" counts per viewer; any other once (under its owner's id).
const LIST_VIEWS = `
SELECT sv.id, sv.name, sv.shared, tm.name AS "teamName", sv."ownerId", o.name AS "ownerName", sv.filters, sv.sort, k.n,
       (k."countedAt" IS NULL OR k."countedAt" < now() - make_interval(secs => $2::int / 1000.0)) AS stale
  FROM "SavedView" sv JOIN "User" o ON o.id = sv."ownerId"
  LEFT JOIN "Team" tm ON tm.id = sv."teamId"
  LEFT JOIN "SavedViewCount" k ON k."viewId" = sv.id
   AND k."viewerId" = CASE WHEN sv.filters->>'assignee' = 'me' OR sv.filters->>'team' = 'mine' THEN $1::int ELSE sv."ownerId" END
 WHERE sv."ownerId" = $1::int OR sv.shared
    OR sv."teamId" IN (SELECT m."teamId" FROM "TeamMember" m WHERE m."userId" = $1::int)
 ORDER BY sv."ownerId" = $1::int DESC, sv.name, sv.id
 LIMIT ${VIEWS_LISTED}`;

/**
 * The views a user sees (their own, then those shared by others) with their kept counts.
 * `recounting` settles when the out-of-date counts this call started are done (tests wait on it;
 * pages do not).
 */
export async function listSavedViews(ctx: ServiceContext): Promise<{ views: SavedViewLine[]; recounting: Promise<void> }> {
  assertCan(ctx.actor, 'ticket.read');
  // Kept for a few seconds per user, like the staff list: the queue page is the most viewed, and
  // its rows are its one round trip. This process's own saves and deletions show at once; other
  // instances' within LIST_TTL_MS.
  let kept = listCaches.get(ctx.db);
  if (!kept) listCaches.set(ctx.db, (kept = new Map()));
  const hit = kept.get(ctx.actor.id);
  if (hit && Date.now() - hit.at < LIST_TTL_MS) return { views: hit.views, recounting: Promise.resolve() };
  const rows = await sql<Row>(ctx.db, LIST_VIEWS, [ctx.actor.id, VIEW_COUNT_TTL_MS]);
  const stale: Promise<void>[] = [];
  const views = rows.map((r): SavedViewLine => {
    const read = readView(r.filters, r.sort);
    if (read && r.stale) {
      const viewerId = read.filter.assignee === 'me' || read.filter.team === 'mine' ? ctx.actor.id : r.ownerId;
      stale.push(recount(ctx, r.id, viewerId, read.filter).catch((err: unknown) => logError('[views] counting failed:', err)));
    }
    return {
      id: r.id,
      name: r.name,
      shared: r.shared,
      teamName: r.teamName,
      mine: r.ownerId === ctx.actor.id,
      ownerName: r.ownerName,
      query: read?.query ?? null,
      count: read && r.n !== null && r.n >= 0 ? r.n : null,
    };
  });
  if (kept.size >= 1000) kept.clear();
  kept.set(ctx.actor.id, { at: Date.now(), views });
  return { views, recounting: Promise.all(stale).then(() => undefined) };
}

const LIST_TTL_MS = 10_000;
let listCaches = new WeakMap<object, Map<number, { at: number; views: SavedViewLine[] }>>();
// Another instance saved or deleted a view: every kept list goes (src/services/cache-notices.ts).
onCacheNotice('saved-views', () => {
  listCaches = new WeakMap();
});

/** A view was saved or deleted here: every user's kept list is read again (shared views are everyone's). */
export function invalidateSavedViews(ctx: ServiceContext): void {
  listCaches.delete(ctx.db);
}

/** Recounts one view's count if this call claims it (no other instance counts it right now). */
async function recount(ctx: ServiceContext, viewId: number, viewerId: number, view: ViewFilter): Promise<void> {
  const claimed = await ctx.db.$queryRaw<{ viewId: number }[]>`
    INSERT INTO "SavedViewCount" AS k ("viewId", "viewerId", n, "countedAt")
    VALUES (${viewId}::int, ${viewerId}::int, -1, now())
    ON CONFLICT ("viewId", "viewerId") DO UPDATE SET "countedAt" = now()
     WHERE k."countedAt" < now() - make_interval(secs => ${VIEW_COUNT_TTL_MS}::int / 1000.0)
    RETURNING k."viewId"`;
  if (claimed.length === 0) return;
  const { team, ...rest } = view;
  const teams = team === undefined ? undefined : team === 'mine' ? await teamIdsOf(ctx) : [team];
  const n = await countQueueBounded(ctx, { ...rest, teams }, VIEW_COUNT_LIMIT + 1);
  await ctx.db.$executeRaw`UPDATE "SavedViewCount" SET n = ${n}::int, "countedAt" = now()
    WHERE "viewId" = ${viewId}::int AND "viewerId" = ${viewerId}::int`;
}

export interface NewView {
  name: string;
  query: ViewQuery;
  sort: QueueSort;
  shared: boolean;
  /** Shared with this team instead (the owner must be in it). */
  teamId?: number | null;
}

/** Save the queue's current filters and sort under a name (unique among the owner's views). */
export async function saveView(ctx: ServiceContext, input: NewView): Promise<{ id: number }> {
  assertCan(ctx.actor, 'ticket.read');
  const name = input.name.trim();
  if (!name) throw new ValidationError('Give the view a name.', { name: 'A name is required.' });
  if (name.length > VIEW_NAME_MAX) throw new ValidationError(`A view's name can be at most ${VIEW_NAME_MAX} characters.`, { name: 'Shorten it.' });
  const filters: Record<string, string> = {};
  for (const key of QUERY_KEYS) {
    const value = input.query[key];
    if (typeof value === 'string' && value.trim() !== '') filters[key] = value.trim();
  }
  if (!readView(filters, input.sort)) throw new ValidationError('These filters cannot be saved: check them.', { name: 'Check the filters.' });
  const teamId = input.shared ? null : (input.teamId ?? null);
  if (teamId !== null && !(await teamIdsOf(ctx)).includes(teamId)) {
    throw new ValidationError('You can share a view only with a team you are in.', { share: 'Choose one of your teams.' });
  }
  const own = await ctx.db.savedView.count({ where: { ownerId: ctx.actor.id } });
  if (own >= VIEWS_LISTED) throw new ValidationError(`You can keep at most ${VIEWS_LISTED} views: delete one first.`, { name: 'Too many views.' });
  try {
    const view = await ctx.db.savedView.create({
      data: { ownerId: ctx.actor.id, name, filters, sort: input.sort, shared: input.shared, teamId },
      select: { id: true },
    });
    invalidateSavedViews(ctx);
    return view;
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ValidationError(`You already have a view named "${name}".`, { name: 'Choose another name.' });
    }
    throw err;
  }
}

/** Delete one of one's own views. */
export async function deleteView(ctx: ServiceContext, id: number): Promise<void> {
  assertCan(ctx.actor, 'ticket.read');
  const { count } = await ctx.db.savedView.deleteMany({ where: { id, ownerId: ctx.actor.id } });
  if (count === 0) throw new NotFoundError('You have no such view.');
  invalidateSavedViews(ctx);
}
