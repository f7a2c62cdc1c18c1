// Customer records whose addresses look alike (equal Unicode TS #39 skeletons, different
// addresses): a mail from "ann@cust.tеst" (Cyrillic е) makes a second record beside the real
// "ann@cust.test". Found through the index on Customer.emailSkeleton, never by reading all
// customers. Decided: nothing is stored about the pair — it is looked up whenever a record is
// shown, so it is right whichever record came first, after an edit of either address, and for
// records created by mail, by /request or by staff alike (all of which store the skeleton).
// Merged records are left out: the merge was a decision someone confirmed.
import { Prisma } from '../../generated/prisma/client.js';
import type { Db, Tx } from '../../db/client.js';
import { emailSkeleton } from '../../domain/email-address.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';

export interface Lookalike {
  id: number;
  name: string;
  email: string;
  createdAt: Date;
}

/** At most this many look-alikes are named per record (a flood of variants still shows as many). */
export const LOOKALIKE_LIMIT = 10;

/**
 * For each given record, the other active records whose address looks like its own, oldest
 * first. One indexed query for a whole page of records.
 */
export async function findLookalikes(
  db: Db | Tx,
  customers: readonly { id: number; email: string }[],
): Promise<Map<number, Lookalike[]>> {
  const out = new Map<number, Lookalike[]>();
  if (customers.length === 0) return out;
  const keyed = customers.map((c) => ({ ...c, skeleton: emailSkeleton(c.email) }));
  const skeletons = [...new Set(keyed.map((c) => c.skeleton))];
  // Per skeleton, a bounded number of rows (a flood of variants of one address cannot make a page slow).
  const rows = await db.$queryRaw<(Lookalike & { skeleton: string })[]>(Prisma.sql`
    SELECT o.id, o.name, o.email, o."createdAt", o."emailSkeleton" AS skeleton
    FROM unnest(${skeletons}::varchar[]) AS s(skeleton)
    CROSS JOIN LATERAL (
      SELECT c.id, c.name, c.email, c."createdAt", c."emailSkeleton" FROM "Customer" c
      WHERE c."emailSkeleton" = s.skeleton AND c."mergedIntoId" IS NULL
      ORDER BY c.id LIMIT ${LOOKALIKE_LIMIT + customers.length}
    ) o
    ORDER BY o.id`);
  for (const c of keyed) {
    const others = rows
      .filter((r) => r.skeleton === c.skeleton && r.id !== c.id && r.email !== c.email)
      .slice(0, LOOKALIKE_LIMIT)
      .map(({ skeleton: _s, ...r }) => r);
    if (others.length) out.set(c.id, others);
  }
  return out;
}

/** The records whose address looks like this one's. */
export async function lookalikesOf(db: Db | Tx, customer: { id: number; email: string }): Promise<Lookalike[]> {
  return (await findLookalikes(db, [customer])).get(customer.id) ?? [];
}

/** The look-alikes of a page of customers (the customer list), for staff. */
export async function lookalikesForPage(
  ctx: ServiceContext,
  customers: readonly { id: number; email: string }[],
): Promise<Map<number, Lookalike[]>> {
  assertCan(ctx.actor, 'customer.read');
  return findLookalikes(ctx.db, customers);
}
