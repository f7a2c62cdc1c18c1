import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../db/client.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';

export const CUSTOMER_PAGE_SIZE = 50;
const LOOKUP_SIZE = 8;

/** Where the previous page ended: the last row's place in the (name, id) order. */
export interface CustomerCursor {
  name: string;
  id: number;
}

export interface CustomerSearch {
  /** Part of a name, an email or an organization. */
  q?: string | undefined;
  /** Only the customers of this organization (its exact name, whatever the case). */
  organization?: string | undefined;
  after?: CustomerCursor | undefined;
}

export interface CustomerRow {
  id: number;
  name: string;
  email: string;
  phone: string | null;
  /** The organization's name and record. */
  organization: string | null;
  organizationId: number | null;
}

export interface CustomerSearchPage {
  rows: CustomerRow[];
  next: CustomerCursor | null;
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;

/**
 * Customers by part of their name, email or organization, and/or of one organization; merged
 * records left out; in name order, a page at a time (keyset: where the last page ended).
 * The text is matched through the trigram indexes on name, email and the organization's name
 * (the matching organizations are found first, as an array the customers' organizationId index
 * takes, so the three index reads still combine: an IN (subquery) there would not). On a table of
 * tens of thousands of rows PostgreSQL would rather read it all (its estimate for trigram
 * indexes is far too high: ~35 ms against ~5 ms), so searches by text are planned without
 * sequential scans, for that one query's transaction.
 */
async function findCustomers(db: Db, filter: CustomerSearch, limit: number): Promise<CustomerRow[]> {
  const where: Prisma.Sql[] = [Prisma.sql`c."mergedIntoId" IS NULL`];
  const organization = filter.organization?.trim();
  if (organization) where.push(Prisma.sql`c."organizationId" = (SELECT id FROM "Organization" WHERE "nameKey" = lower(${organization}))`);
  const text = filter.q?.trim() ?? '';
  if (text) {
    const pattern = likePattern(text);
    where.push(Prisma.sql`(c.name ILIKE ${pattern} OR c.email ILIKE ${pattern} OR c."organizationId" = ANY (ARRAY(SELECT id FROM "Organization" WHERE name ILIKE ${pattern})))`);
  }
  if (filter.after) {
    const { name, id } = filter.after;
    // The first condition lets the name index start there; the second breaks ties by id.
    where.push(Prisma.sql`c.name >= ${name} AND (c.name, c.id) > (${name}::varchar, ${id}::int)`);
  }
  const query = Prisma.sql`
    SELECT c.id, c.name, c.email, c.phone, o.name AS organization, c."organizationId"
    FROM "Customer" c LEFT JOIN "Organization" o ON o.id = c."organizationId"
    WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY c.name, c.id
    LIMIT ${Prisma.raw(String(limit))}`;
  if (text.length < 3) return db.$queryRaw<CustomerRow[]>(query);
  // Trigram indexes need three characters; from there, plan for them with the actual text.
  const [, rows] = await db.$transaction([
    db.$queryRaw`SELECT set_config('enable_seqscan', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)`,
    db.$queryRaw<CustomerRow[]>(query),
  ]);
  return rows;
}

export async function searchCustomers(ctx: ServiceContext, filter: CustomerSearch): Promise<CustomerSearchPage> {
  assertCan(ctx.actor, 'customer.read');
  const rows = await findCustomers(ctx.db, filter, CUSTOMER_PAGE_SIZE + 1);
  const hasMore = rows.length > CUSTOMER_PAGE_SIZE;
  const page = hasMore ? rows.slice(0, CUSTOMER_PAGE_SIZE) : rows;
  const last = page[page.length - 1];
  return { rows: page, next: hasMore && last ? { name: last.name, id: last.id } : null };
}

/** A few customers for the new-ticket form's suggestions (two characters at least). */
export async function lookupCustomers(ctx: ServiceContext, q: string): Promise<CustomerRow[]> {
  assertCan(ctx.actor, 'customer.read');
  const text = q.trim();
  if (text.length < 2) return [];
  return findCustomers(ctx.db, { q: text }, LOOKUP_SIZE);
}
