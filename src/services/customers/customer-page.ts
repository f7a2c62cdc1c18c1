import { Prisma } from '../../generated/prisma/client.js';
import type { Customer, CustomerHistory } from '../../generated/prisma/client.js';
import { STATUSES, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { ACTIVE_STATUSES } from '../../domain/status.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';
import { lookalikesOf, type Lookalike } from './lookalikes.js';

/** The most tickets the customer page lists; the queue, filtered by the customer, has them all. */
export const CUSTOMER_TICKET_LIMIT = 100;

export interface CustomerTicketRow {
  id: number;
  reference: string;
  title: string;
  urgency: Urgency;
  status: TicketStatus;
  createdAt: Date;
  assigneeName: string | null;
}

export interface TicketCounts {
  /** Not yet resolved or closed. */
  active: number;
  resolved: number;
  closed: number;
  total: number;
  byStatus: Record<TicketStatus, number>;
}

type Ref = Pick<Customer, 'id' | 'name' | 'email'>;

export interface CustomerPage {
  customer: Customer & { organization: { id: number; name: string } | null };
  /** Where a merged record's tickets went. */
  mergedInto: Ref | null;
  /** Records merged into this one. */
  mergedFrom: Ref[];
  counts: TicketCounts;
  /** Open ones first, then newest first; at most CUSTOMER_TICKET_LIMIT. */
  tickets: CustomerTicketRow[];
  /** A null actor: nobody did it (the customer joined an organization by the domain of their address). */
  history: (CustomerHistory & { actor: { id: number; name: string } | null })[];
  /** Other records whose address looks like this one's (a possible impostor, or the real customer). */
  lookalikes: Lookalike[];
}

const ACTIVE = Prisma.join(ACTIVE_STATUSES.map((s) => Prisma.raw(`'${s}'::"TicketStatus"`)));

function ticketRows(ctx: ServiceContext, customerId: number) {
  return ctx.db.$queryRaw<CustomerTicketRow[]>`
    SELECT t.id, t.reference, t.title, t.urgency::text AS urgency, t.status::text AS status, t."createdAt",
           u.name AS "assigneeName"
    FROM "Ticket" t LEFT JOIN "User" u ON u.id = t."assigneeId"
    WHERE t."customerId" = ${customerId}
    ORDER BY (t.status IN (${ACTIVE})) DESC, t."createdAt" DESC, t.id DESC
    LIMIT ${Prisma.raw(String(CUSTOMER_TICKET_LIMIT))}`;
}

async function ticketCounts(ctx: ServiceContext, customerId: number): Promise<TicketCounts> {
  const groups = await ctx.db.ticket.groupBy({ by: ['status'], where: { customerId }, _count: { _all: true } });
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TicketStatus, number>;
  for (const g of groups) byStatus[g.status] = g._count._all;
  const active = ACTIVE_STATUSES.reduce((n, s) => n + byStatus[s], 0);
  return { active, resolved: byStatus.RESOLVED, closed: byStatus.CLOSED, total: active + byStatus.RESOLVED + byStatus.CLOSED, byStatus };
}

/** Everything the customer page shows: the record, its tickets with counts, and its history. */
export async function getCustomerPage(ctx: ServiceContext, id: number): Promise<CustomerPage> {
  assertCan(ctx.actor, 'customer.read');
  const ref = { select: { id: true, name: true, email: true } } as const;
  const [record, counts, tickets, history] = await Promise.all([
    ctx.db.customer.findUnique({
      where: { id },
      include: { mergedInto: ref, mergedFrom: { ...ref, orderBy: { id: 'asc' } }, organization: { select: { id: true, name: true } } },
    }),
    ticketCounts(ctx, id),
    ticketRows(ctx, id),
    ctx.db.customerHistory.findMany({
      where: { customerId: id },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 200,
      include: { actor: { select: { id: true, name: true } } },
    }),
  ]);
  if (!record) throw new NotFoundError(`There is no customer number ${id}.`);
  const { mergedInto, mergedFrom, ...customer } = record;
  const lookalikes = await lookalikesOf(ctx.db, customer);
  return { customer, mergedInto, mergedFrom, counts, tickets, history, lookalikes };
}
