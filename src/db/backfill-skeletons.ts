import type pg from 'pg';
import { emailSkeleton } from '../domain/email-address.js';

const BATCH = 2000;

/**
 * Fills Customer.emailSkeleton where it is missing (after the migration that added it, or after
 * one that cleared it for new confusables data), a batch at a time, the rows found through the
 * column's index (IS NULL): when nothing is missing, one index probe. The skeleton is computed
 * here, in JavaScript, from Unicode's confusables data: PostgreSQL has no such function. A row
 * whose address changed meanwhile is left to the next batch (its writer set the skeleton anyway).
 * Several instances starting at once do the same work harmlessly. Returns the rows filled.
 */
export async function backfillEmailSkeletons(pool: pg.Pool): Promise<number> {
  let filled = 0;
  for (;;) {
    const { rows } = await pool.query<{ id: number; email: string }>(
      `SELECT id, email FROM "Customer" WHERE "emailSkeleton" IS NULL LIMIT ${BATCH}`,
    );
    if (rows.length === 0) return filled;
    const res = await pool.query(
      `UPDATE "Customer" c SET "emailSkeleton" = v.skeleton
         FROM unnest($1::int[], $2::varchar[], $3::varchar[]) AS v(id, email, skeleton)
        WHERE c.id = v.id AND c.email = v.email AND c."emailSkeleton" IS NULL`,
      [rows.map((r) => r.id), rows.map((r) => r.email), rows.map((r) => emailSkeleton(r.email))],
    );
    // Nothing could be filled (every row changed meanwhile): the next start tries again.
    if (!res.rowCount) return filled;
    filled += res.rowCount;
  }
}
