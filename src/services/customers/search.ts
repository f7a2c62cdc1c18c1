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
  /** Only the customers of this organization (exact name). */
  organization?: string | undefined;
  after?: CustomerCursor | undefined;
}

export interface CustomerRow {
  id: number;
  name: string;
  email: string;
  phone: string | null;
  organization: string | null;
}

export interface CustomerSearchPage {
  rows: CustomerRow[];
  next: CustomerCursor | null;
}

/*
 * Organizations are a name on each customer; the index on (organization, name) finds the
 * customers of given organizations, but not an organization by part of its name. So the distinct
 * names are read (a skip scan over that index: one probe per organization) and kept; the ones
 * that contain the search text go into the query as a list the index can use. The names are read
 * again when a customer was added since (the highest id moved), when this process changed a
 * customer, and after ORGS_TTL_MS (for other processes' edits).
 */
const ORGS_TTL_MS = 30_000;
/** More matching organizations than this: the text is broad, and matched in SQL instead. */
const MAX_ORG_MATCHES = 200;
interface OrgCache {
  at: number;
  maxId: number;
  names: { name: string; lower: string }[];
}
const orgCaches = new WeakMap<Db, OrgCache>();

const DISTINCT_ORGANIZATIONS = Prisma.sql`
WITH RECURSIVE orgs(o) AS (
  (SELECT organization FROM "Customer" WHERE organization IS NOT NULL ORDER BY organization LIMIT 1)
  UNION ALL
  SELECT (SELECT c.organization FROM "Customer" c WHERE c.organization > orgs.o ORDER BY c.organization LIMIT 1)
  FROM orgs WHERE orgs.o IS NOT NULL
)
SELECT o AS name FROM orgs WHERE o IS NOT NULL`;

async function organizationNames(db: Db): Promise<OrgCache['names']> {
  const [top] = await db.$queryRaw<{ maxId: number }[]>`SELECT coalesce(max(id), 0)::int AS "maxId" FROM "Customer"`;
  const maxId = top?.maxId ?? 0;
  const cached = orgCaches.get(db);
  if (cached && cached.maxId === maxId && Date.now() - cached.at < ORGS_TTL_MS) return cached.names;
  const rows = await db.$queryRaw<{ name: string }[]>(DISTINCT_ORGANIZATIONS);
  const names = rows.map((r) => ({ name: r.name, lower: r.name.toLowerCase() }));
  orgCaches.set(db, { at: Date.now(), maxId, names });
  return names;
}

/** This process changed customers: the next search reads the organization names again. */
export function invalidateOrganizations(db: Db): void {
  orgCaches.delete(db);
}

/** The organizations whose name contains `text` (any case), or null when there are too many to list. */
async function organizationsContaining(db: Db, text: string): Promise<string[] | null> {
  const needle = text.toLowerCase();
  const found: string[] = [];
  for (const org of await organizationNames(db)) {
    if (!org.lower.includes(needle)) continue;
    if (found.length >= MAX_ORG_MATCHES) return null;
    found.push(org.name);
  }
  return found;
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;

/**
 * Customers by part of their name, email or organization, and/or of one organization; merged
 * records left out; in name order, a page at a time (keyset: where the last page ended).
 * Name and email are matched through their trigram indexes, organizations through the list above
 * and the (organization, name) index. On a table of tens of thousands of rows PostgreSQL would
 * rather read it all (its estimate for trigram indexes is far too high: ~35 ms against ~5 ms), so
 * searches by text are planned without sequential scans; broad text still walks the name index
 * and stops at a page.
 */
async function findCustomers(db: Db, filter: CustomerSearch, limit: number): Promise<CustomerRow[]> {
  const where: Prisma.Sql[] = [Prisma.sql`c."mergedIntoId" IS NULL`];
  const organization = filter.organization?.trim();
  if (organization) where.push(Prisma.sql`c.organization = ${organization}`);
  const text = filter.q?.trim() ?? '';
  if (text) {
    const pattern = likePattern(text);
    const orgs = await organizationsContaining(db, text);
    const orgMatch =
      orgs === null
        ? Prisma.sql`c.organization ILIKE ${pattern}`
        : orgs.length
          ? Prisma.sql`c.organization = ANY(${orgs}::text[])`
          : Prisma.sql`FALSE`;
    where.push(Prisma.sql`(c.name ILIKE ${pattern} OR c.email ILIKE ${pattern} OR ${orgMatch})`);
  }
  if (filter.after) {
    const { name, id } = filter.after;
    // The first condition lets the name index start there; the second breaks ties by id.
    where.push(Prisma.sql`c.name >= ${name} AND (c.name, c.id) > (${name}::varchar, ${id}::int)`);
  }
  const query = Prisma.sql`
    SELECT c.id, c.name, c.email, c.phone, c.organization FROM "Customer" c
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
