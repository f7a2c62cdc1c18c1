// Who has a ticket's page open, and who is writing an entry on it: one row per open page in the
// UNLOGGED table "TicketViewer" (prisma/migrations/20261207040000_live_updates). A table rather
// than presence beats kept in each instance's memory: it works the same whether changes arrive by
// LISTEN/NOTIFY or by polling (the embedded database, see feed.ts), an instance that starts late
// sees who is already there, and a row's age says whether its page is still open. Its trigger
// announces every arrival, departure and typing change on caseboard_ticket; refreshing seenAt
// (every beat of src/web/live.ts) announces nothing.
import { sql, type Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';

/** A page whose row was not refreshed for this long is taken to be closed (its instance died). */
export const VIEWER_STALE_SECONDS = 70;
/** "X is writing a reply…" lasts this long after their last keystroke beat. */
export const TYPING_SECONDS = 10;

export type TypingKind = 'REPLY' | 'NOTE';

/** Where a page starts from: the ticket, its version, and its latest history row (its "mark"). */
export interface ViewStart {
  ticketId: number;
  version: number;
  /** The id of the ticket's latest history row: every change, entry and file writes one. */
  mark: number;
}

/**
 * A signed-in user opened a ticket's live page (its event stream): records them as viewing it
 * under `viewerId` (one per open page) and says where the ticket stands, in one statement.
 */
export async function startViewing(ctx: ServiceContext, reference: string, viewerId: string): Promise<ViewStart> {
  assertCan(ctx.actor, 'ticket.read');
  const [row] = await sql<{ id: number; version: number; mark: number | null }>(
    ctx.db,
    `WITH t AS (SELECT id, version FROM "Ticket" WHERE reference = $1),
          v AS (INSERT INTO "TicketViewer" (id, "ticketId", "userId") SELECT $2::uuid, t.id, $3::int FROM t)
     SELECT t.id, t.version, (SELECT max(h.id) FROM "TicketHistory" h WHERE h."ticketId" = t.id) AS mark FROM t`,
    [reference, viewerId, ctx.actor.id],
  );
  if (!row) throw new NotFoundError(`No ticket has the reference ${reference}.`);
  return { ticketId: row.id, version: row.version, mark: row.mark ?? 0 };
}

/** Pages closed (or their streams ended): their rows go. */
export async function stopViewing(db: Db, viewerIds: readonly string[]): Promise<void> {
  if (viewerIds.length === 0) return;
  await sql(db, `DELETE FROM "TicketViewer" WHERE id = ANY($1::uuid[])`, [viewerIds]);
}

/**
 * Pages still open: their rows stay fresh. Rows of pages nobody refreshed for a long time (an
 * instance that died) are swept in the same statement.
 */
export async function keepViewing(db: Db, viewerIds: readonly string[]): Promise<void> {
  await sql(
    db,
    `WITH fresh AS (UPDATE "TicketViewer" SET "seenAt" = now() WHERE id = ANY($1::uuid[]))
     DELETE FROM "TicketViewer" WHERE "seenAt" < now() - interval '10 minutes'`,
    [viewerIds],
  );
}

/**
 * The user is writing a reply or a note on the ticket (null: stopped, e.g. sent it). Marks
 * their open pages of it; a user without one (no live page) changes nothing.
 */
export async function setTyping(ctx: ServiceContext, reference: string, kind: TypingKind | null): Promise<void> {
  assertCan(ctx.actor, 'ticket.worklog');
  await sql(
    ctx.db,
    `UPDATE "TicketViewer" SET typing = $3::"WorkLogKind", "typingAt" = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END
      WHERE "userId" = $1::int AND "ticketId" = (SELECT id FROM "Ticket" WHERE reference = $2)`,
    [ctx.actor.id, reference, kind],
  );
}

export interface Viewer {
  ticketId: number;
  userId: number;
  name: string;
  /** What they are writing now, if anything. */
  typing: TypingKind | null;
  /** When they last typed (for telling a new beat from an old one). */
  typingAt: Date | null;
  /** How much longer "is writing" holds without another beat. */
  typingLeftMs: number;
}

/** The people viewing these tickets now (one line per person and ticket), by name. */
export async function viewersOf(db: Db, ticketIds: readonly number[]): Promise<Viewer[]> {
  if (ticketIds.length === 0) return [];
  const rows = await sql<{ ticketId: number; userId: number; name: string; typing: TypingKind | null; typingAt: Date | null; leftMs: number | null }>(
    db,
    `SELECT v."ticketId", v."userId", u.name,
            (array_agg(v.typing ORDER BY v."typingAt" DESC NULLS LAST))[1]::text AS typing,
            max(v."typingAt") AS "typingAt",
            (extract(epoch FROM max(v."typingAt") + make_interval(secs => $2) - now()) * 1000)::int AS "leftMs"
       FROM "TicketViewer" v JOIN "User" u ON u.id = v."userId"
      WHERE v."ticketId" = ANY($1::int[]) AND v."seenAt" > now() - make_interval(secs => $3)
      GROUP BY v."ticketId", v."userId", u.name
      ORDER BY u.name, v."userId"`,
    [ticketIds, TYPING_SECONDS, VIEWER_STALE_SECONDS],
  );
  return rows.map((r) => {
    const writing = r.typing !== null && r.leftMs !== null && r.leftMs > 0;
    return {
      ticketId: r.ticketId,
      userId: r.userId,
      name: r.name,
      typing: writing ? r.typing : null,
      typingAt: writing ? r.typingAt : null,
      typingLeftMs: writing ? r.leftMs! : 0,
    };
  });
}
