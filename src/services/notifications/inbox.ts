// The in-app inbox: each staff member's own notifications, newest first. Nobody sees or marks
// anyone else's (another person's notification is "not found", like one that does not exist).
import { sql, type Db } from '../../db/client.js';
import type { NotificationKind } from '../../domain/enums.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';

export const INBOX_PAGE_SIZE = 50;
/** The header counts unread notifications up to this many ("99+"): a bounded index range. */
export const UNREAD_COUNT_CAP = 100;

export interface InboxCursor {
  /** createdAt in epoch milliseconds, and id: the last row of the page before. */
  at: number;
  id: number;
}

export interface InboxLine {
  id: number;
  kind: NotificationKind;
  summary: string;
  actorName: string;
  createdAt: Date;
  read: boolean;
  reference: string;
  title: string;
}

/**
 * The unread count for the header: one index range scan on (userId, readAt, …), stopped at
 * UNREAD_COUNT_CAP rows whatever the backlog.
 */
export async function countUnread(db: Db, userId: number): Promise<number> {
  // Kept a moment per person: the header asks on every page they open. This process's own new
  // notifications and reads show at once (notificationsChanged); another instance's within UNREAD_TTL_MS.
  let kept = unreadCaches.get(db);
  if (!kept) unreadCaches.set(db, (kept = new Map()));
  const hit = kept.get(userId);
  if (hit && hit.generation === generation && Date.now() - hit.at < UNREAD_TTL_MS) return hit.n;
  const seen = generation;
  const [row] = await sql<{ n: number }>(
    db,
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM "Notification" WHERE "userId" = $1::int AND "readAt" IS NULL LIMIT ${UNREAD_COUNT_CAP}) x`,
    [userId],
  );
  const n = row?.n ?? 0;
  if (kept.size >= 10_000) kept.clear();
  kept.set(userId, { at: Date.now(), n, generation: seen });
  return n;
}

const UNREAD_TTL_MS = 3_000;
let generation = 0;
const unreadCaches = new WeakMap<Db, Map<number, { at: number; n: number; generation: number }>>();

/** This process wrote notifications or marked some read: the header counts again. */
export function notificationsChanged(): void {
  generation++;
}

/** One page of the acting user's notifications, newest first (keyset on the (userId, createdAt DESC, id DESC) index). */
export async function listNotifications(
  ctx: ServiceContext,
  after: InboxCursor | null = null,
): Promise<{ rows: InboxLine[]; next: InboxCursor | null }> {
  const rows = await sql<Omit<InboxLine, 'createdAt'> & { at: number }>(
    ctx.db,
    `SELECT n.id, n.kind::text AS kind, n.summary, n."actorName", n."readAt" IS NOT NULL AS read,
            (extract(epoch FROM n."createdAt") * 1000)::float8 AS at, t.reference, t.title
     FROM "Notification" n JOIN "Ticket" t ON t.id = n."ticketId"
     WHERE n."userId" = $1::int
       AND ($2::timestamptz IS NULL OR (n."createdAt", n.id) < ($2::timestamptz, $3::int))
     ORDER BY n."createdAt" DESC, n.id DESC
     LIMIT ${INBOX_PAGE_SIZE + 1}`,
    [ctx.actor.id, after ? new Date(after.at).toISOString() : null, after?.id ?? 0],
  );
  const page = rows.slice(0, INBOX_PAGE_SIZE).map(({ at, ...r }) => ({ ...r, createdAt: new Date(Math.round(at)) }));
  const last = rows.length > INBOX_PAGE_SIZE ? page[page.length - 1] : undefined;
  return { rows: page, next: last ? { at: last.createdAt.getTime(), id: last.id } : null };
}

/**
 * Opens one of the acting user's notifications: marks it read (and, read in the app, it need not
 * be mailed any more) and returns where it points: the entry (#entry-N) or the history.
 */
export async function openNotification(ctx: ServiceContext, id: number): Promise<string> {
  const [row] = await sql<{ reference: string; entry: number | null }>(
    ctx.db,
    `UPDATE "Notification" n SET "readAt" = coalesce(n."readAt", now()), "emailPending" = false
     FROM "Ticket" t
     WHERE n.id = $1::int AND n."userId" = $2::int AND t.id = n."ticketId"
     RETURNING t.reference, n."workLogEntryId" AS entry`,
    [id, ctx.actor.id],
  );
  if (!row) throw new NotFoundError('There is no such notification.');
  notificationsChanged();
  return `/tickets/${row.reference}#${row.entry === null ? 'history' : `entry-${row.entry}`}`;
}

/** Marks every unread notification of the acting user read; returns how many. */
export async function markAllRead(ctx: ServiceContext): Promise<number> {
  const n = await ctx.db.$executeRaw`
    UPDATE "Notification" SET "readAt" = now(), "emailPending" = false
    WHERE "userId" = ${ctx.actor.id}::int AND "readAt" IS NULL`;
  notificationsChanged();
  return n;
}
