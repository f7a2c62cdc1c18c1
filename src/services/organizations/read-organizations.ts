import { Prisma } from '../../generated/prisma/client.js';
import type { Organization, OrganizationHistory } from '../../generated/prisma/client.js';
import { STATUSES, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { ACTIVE_STATUSES } from '../../domain/status.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { assertCan } from '../policy.js';
import { keptFor } from '../kept.js';
import { onCacheNotice } from '../cache-notices.js';
import type { Db } from '../../db/client.js';

export const ORGANIZATION_PAGE_SIZE = 50;
/** The most people and tickets an organization's page lists (the customer list has all its people). */
export const ORGANIZATION_PEOPLE_LIMIT = 100;
export const ORGANIZATION_TICKET_LIMIT = 50;
/** The most names the organization fields suggest (a longer list helps nobody; any name on record is accepted). */
const NAME_SUGGESTIONS = 1000;

const ACTIVE = Prisma.join(ACTIVE_STATUSES.map((s) => Prisma.raw(`'${s}'::"TicketStatus"`)));
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;

export interface OrganizationRow {
  id: number;
  name: string;
  nameKey: string;
  domains: string[];
  /** Customers (merged records left out). */
  people: number;
  /** Their tickets not yet resolved or closed. */
  openTickets: number;
}

/** Where the previous page ended: the last row's place in the (nameKey, id) order. */
export interface OrganizationCursor {
  name: string;
  id: number;
}

export interface OrganizationSearch {
  /** Part of the name. */
  q?: string | undefined;
  after?: OrganizationCursor | undefined;
}

/**
 * Organizations by part of their name (the trigram index on it), in name order a page at a time,
 * each with its domains and the counts of its people and of their open tickets.
 */
export async function listOrganizations(
  ctx: ServiceContext,
  filter: OrganizationSearch,
): Promise<{ rows: OrganizationRow[]; next: OrganizationCursor | null }> {
  assertCan(ctx.actor, 'organization.read');
  const where: Prisma.Sql[] = [Prisma.sql`TRUE`];
  const text = filter.q?.trim() ?? '';
  if (text) where.push(Prisma.sql`o.name ILIKE ${likePattern(text)}`);
  if (filter.after) {
    const { name, id } = filter.after;
    where.push(Prisma.sql`o."nameKey" >= ${name} AND (o."nameKey", o.id) > (${name}::varchar, ${id}::int)`);
  }
  const rows = await ctx.db.$queryRaw<OrganizationRow[]>`
    SELECT o.id, o.name, o."nameKey",
           ARRAY(SELECT d.domain FROM "OrganizationDomain" d WHERE d."organizationId" = o.id ORDER BY d.domain) AS domains,
           (SELECT count(*)::int FROM "Customer" c WHERE c."organizationId" = o.id AND c."mergedIntoId" IS NULL) AS people,
           (SELECT count(*)::int FROM "Customer" c JOIN "Ticket" t ON t."customerId" = c.id
             WHERE c."organizationId" = o.id AND t.status IN (${ACTIVE})) AS "openTickets"
    FROM "Organization" o
    WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY o."nameKey", o.id
    LIMIT ${Prisma.raw(String(ORGANIZATION_PAGE_SIZE + 1))}`;
  const hasMore = rows.length > ORGANIZATION_PAGE_SIZE;
  const page = hasMore ? rows.slice(0, ORGANIZATION_PAGE_SIZE) : rows;
  const last = page.at(-1);
  return { rows: page, next: hasMore && last ? { name: last.nameKey, id: last.id } : null };
}

/** The names on record, for the organization fields' suggestions. */
export async function organizationNames(ctx: ServiceContext): Promise<string[]> {
  assertCan(ctx.actor, 'organization.read');
  return keptNames.get(ctx.db);
}

// Read on every new-ticket form (up to 1,000 names: 17% of that page's CPU when read each time);
// kept a minute per process, dropped on every instance when an organization is added, renamed or
// removed (trigger Organization_notify_cache, src/services/cache-notices.ts).
const keptNames = keptFor(60_000, async (db: Db) => {
  const rows = await db.organization.findMany({ select: { name: true }, orderBy: { nameKey: 'asc' }, take: NAME_SUGGESTIONS });
  return rows.map((r) => r.name);
});
onCacheNotice('organizations', () => keptNames.drop());

/** This instance's own change: the names again at once (other instances hear the notice). */
export function invalidateOrganizationNames(): void {
  keptNames.drop();
}

export interface OrganizationPerson {
  id: number;
  name: string;
  email: string;
  openTickets: number;
}

export interface OrganizationTicketRow {
  id: number;
  reference: string;
  title: string;
  urgency: Urgency;
  status: TicketStatus;
  createdAt: Date;
  customerId: number;
  customerName: string;
  assigneeName: string | null;
}

export interface OrganizationPage {
  organization: Organization;
  domains: string[];
  people: number;
  /** In name order; at most ORGANIZATION_PEOPLE_LIMIT. */
  firstPeople: OrganizationPerson[];
  tickets: { active: number; resolved: number; closed: number; total: number; byStatus: Record<TicketStatus, number> };
  /** Open ones first, then newest first; at most ORGANIZATION_TICKET_LIMIT. */
  firstTickets: OrganizationTicketRow[];
  /** A null actor: nobody did it (the migration, a customer joining by domain). */
  history: (OrganizationHistory & { actor: { id: number; name: string } | null })[];
}

/** Everything an organization's page shows: the record, its domains, its people and tickets with counts, its history. */
export async function getOrganizationPage(ctx: ServiceContext, id: number): Promise<OrganizationPage> {
  assertCan(ctx.actor, 'organization.read');
  const [organization, domains, people, firstPeople, groups, firstTickets, history] = await Promise.all([
    ctx.db.organization.findUnique({ where: { id } }),
    ctx.db.organizationDomain.findMany({ where: { organizationId: id }, orderBy: { domain: 'asc' }, select: { domain: true } }),
    ctx.db.customer.count({ where: { organizationId: id, mergedIntoId: null } }),
    ctx.db.$queryRaw<OrganizationPerson[]>`
      SELECT c.id, c.name, c.email,
             (SELECT count(*)::int FROM "Ticket" t WHERE t."customerId" = c.id AND t.status IN (${ACTIVE})) AS "openTickets"
      FROM "Customer" c WHERE c."organizationId" = ${id} AND c."mergedIntoId" IS NULL
      ORDER BY c.name, c.id LIMIT ${Prisma.raw(String(ORGANIZATION_PEOPLE_LIMIT))}`,
    ctx.db.$queryRaw<{ status: TicketStatus; n: number }[]>`
      SELECT t.status::text AS status, count(*)::int AS n
      FROM "Customer" c JOIN "Ticket" t ON t."customerId" = c.id WHERE c."organizationId" = ${id} GROUP BY t.status`,
    ctx.db.$queryRaw<OrganizationTicketRow[]>`
      SELECT t.id, t.reference, t.title, t.urgency::text AS urgency, t.status::text AS status, t."createdAt",
             c.id AS "customerId", c.name AS "customerName", u.name AS "assigneeName"
      FROM "Customer" c JOIN "Ticket" t ON t."customerId" = c.id LEFT JOIN "User" u ON u.id = t."assigneeId"
      WHERE c."organizationId" = ${id}
      ORDER BY (t.status IN (${ACTIVE})) DESC, t."createdAt" DESC, t.id DESC
      LIMIT ${Prisma.raw(String(ORGANIZATION_TICKET_LIMIT))}`,
    ctx.db.organizationHistory.findMany({
      where: { organizationId: id },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 200,
      include: { actor: { select: { id: true, name: true } } },
    }),
  ]);
  if (!organization) throw new NotFoundError(`There is no organization number ${id}.`);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TicketStatus, number>;
  for (const g of groups) byStatus[g.status] = g.n;
  const active = ACTIVE_STATUSES.reduce((n, s) => n + byStatus[s], 0);
  return {
    organization,
    domains: domains.map((d) => d.domain),
    people,
    firstPeople,
    tickets: { active, resolved: byStatus.RESOLVED, closed: byStatus.CLOSED, total: active + byStatus.RESOLVED + byStatus.CLOSED, byStatus },
    firstTickets,
    history,
  };
}
