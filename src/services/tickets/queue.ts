import { Prisma } from '../../generated/prisma/client.js';
import { URGENCIES, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { normalizeReference } from '../../domain/reference.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';

export const QUEUE_PAGE_SIZE = 50;

/** Where the previous page ended: the last row's place in the queue order. */
export interface QueueCursor {
  urgency: Urgency;
  createdAt: Date;
  id: number;
}

export interface QueueFilter {
  statuses: readonly TicketStatus[];
  urgency?: Urgency | undefined;
  assignee: 'anyone' | 'me' | 'unassigned' | number;
  text?: string | undefined;
  after?: QueueCursor | undefined;
}

export interface QueueRow {
  id: number;
  reference: string;
  title: string;
  urgency: Urgency;
  status: TicketStatus;
  createdAt: Date;
  updatedAt: Date;
  customerName: string;
  customerOrganization: string | null;
  assigneeId: number | null;
  assigneeName: string | null;
}

export interface QueuePage {
  rows: QueueRow[];
  next: QueueCursor | null;
  counts: Record<Urgency, number>;
  total: number;
}

function conditions(ctx: ServiceContext, filter: QueueFilter, withUrgency: boolean): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (filter.assignee === 'me') where.push(Prisma.sql`t."assigneeId" = ${ctx.actor.id}`);
  else if (filter.assignee === 'unassigned') where.push(Prisma.sql`t."assigneeId" IS NULL`);
  else if (typeof filter.assignee === 'number') where.push(Prisma.sql`t."assigneeId" = ${filter.assignee}`);
  if (withUrgency && filter.urgency) where.push(Prisma.sql`t.urgency = ${filter.urgency}::"Urgency"`);
  const text = filter.text?.trim();
  if (text) {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    where.push(Prisma.sql`(t.title ILIKE ${pattern} OR EXISTS (
      SELECT 1 FROM "Customer" c WHERE c.id = t."customerId" AND (c.name ILIKE ${pattern} OR c.email ILIKE ${pattern})))`);
  }
  return where;
}

const and = (parts: Prisma.Sql[]) => (parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`TRUE`);

/**
 * One page of the queue, critical first then oldest first, with keyset pagination.
 * Each status is read as its own ordered index range (status, urgency, createdAt, id), and the
 * ranges are merged: PostgreSQL reads at most a page per status, whatever the table's size.
 * A reference typed into the text filter finds that ticket whatever its status.
 */
async function queueRows(ctx: ServiceContext, filter: QueueFilter): Promise<QueueRow[]> {
  const limit = QUEUE_PAGE_SIZE + 1;
  const select = Prisma.sql`
    SELECT t.id, t.reference, t.title, t.urgency::text AS urgency, t.status::text AS status,
           t."createdAt", t."updatedAt", c.name AS "customerName", c.organization AS "customerOrganization",
           t."assigneeId", u.name AS "assigneeName"`;
  const joins = Prisma.sql`JOIN "Customer" c ON c.id = t."customerId" LEFT JOIN "User" u ON u.id = t."assigneeId"`;

  // Text that reads as a reference finds that ticket; when none has it (a word like "shows me"
  // also reads as one), the text is searched as words.
  const reference = filter.text ? normalizeReference(filter.text) : null;
  if (reference && !filter.after) {
    const exact = await ctx.db.$queryRaw<QueueRow[]>`${select} FROM "Ticket" t ${joins} WHERE t.reference = ${reference}`;
    if (exact.length) return exact;
  }
  const base = conditions(ctx, filter, true);
  if (filter.after) {
    const a = filter.after;
    base.push(Prisma.sql`(t.urgency, t."createdAt", t.id) > (${a.urgency}::"Urgency", ${a.createdAt}, ${a.id})`);
  }
  const branches = filter.statuses.map(
    (status) => Prisma.sql`(SELECT t.id, t.urgency, t."createdAt" FROM "Ticket" t
       WHERE t.status = ${status}::"TicketStatus" AND ${and(base)}
       ORDER BY t.urgency, t."createdAt", t.id LIMIT ${limit})`,
  );
  if (branches.length === 0) return [];
  return ctx.db.$queryRaw<QueueRow[]>`
    ${select}
    FROM (${Prisma.join(branches, ' UNION ALL ')}) page
    JOIN "Ticket" t ON t.id = page.id ${joins}
    ORDER BY page.urgency, page."createdAt", page.id
    LIMIT ${limit}`;
}

// Counts per urgency are a GROUP BY over every matching ticket: cheap enough once, too dear
// for every page view at a million tickets. They are kept for a few seconds per filter, and
// dropped whenever this process changes a ticket.
const COUNTS_TTL_MS = 5_000;
const countsCache = new Map<string, { at: number; value: Record<Urgency, number> }>();

export function invalidateQueueCounts(): void {
  countsCache.clear();
}

async function queueCounts(ctx: ServiceContext, filter: QueueFilter): Promise<Record<Urgency, number>> {
  const key = JSON.stringify([
    filter.statuses,
    filter.assignee === 'me' ? ctx.actor.id : filter.assignee,
    filter.text?.trim() ?? '',
  ]);
  const hit = countsCache.get(key);
  if (hit && Date.now() - hit.at < COUNTS_TTL_MS) return hit.value;

  const where = conditions(ctx, filter, false);
  const statuses = Prisma.join(filter.statuses.map((s) => Prisma.sql`${s}::"TicketStatus"`));
  const rows = filter.statuses.length
    ? await ctx.db.$queryRaw<{ urgency: Urgency; n: number }[]>`
        SELECT t.urgency::text AS urgency, count(*)::int AS n FROM "Ticket" t
        WHERE t.status IN (${statuses}) AND ${and(where)} GROUP BY t.urgency`
    : [];
  const value = Object.fromEntries(URGENCIES.map((u) => [u, 0])) as Record<Urgency, number>;
  for (const r of rows) value[r.urgency] = r.n;
  if (countsCache.size > 500) countsCache.clear();
  countsCache.set(key, { at: Date.now(), value });
  return value;
}

export async function listQueue(ctx: ServiceContext, filter: QueueFilter): Promise<QueuePage> {
  assertCan(ctx.actor, 'ticket.read');
  const [rows, counts] = await Promise.all([queueRows(ctx, filter), queueCounts(ctx, filter)]);
  const hasMore = rows.length > QUEUE_PAGE_SIZE;
  const page = hasMore ? rows.slice(0, QUEUE_PAGE_SIZE) : rows;
  const last = page[page.length - 1];
  return {
    rows: page,
    next: hasMore && last ? { urgency: last.urgency, createdAt: last.createdAt, id: last.id } : null,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}
