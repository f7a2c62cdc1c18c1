-- The skeleton (Unicode TS #39) of each customer's address: two records whose skeletons are equal
-- and whose addresses differ look alike ("ann@cust.test" and "ann@cust.tеst" with a Cyrillic е).
-- It is computed by the application (src/domain/email-address.ts, from Unicode's confusables
-- data), which writes it with every new customer and every change of address. Rows without one
-- (all rows at this migration; rows written by other means) are filled in by the application
-- (src/db/backfill-skeletons.ts: in the background after start, or by `npm run db:migrate`),
-- found through the index (IS NULL). When the confusables data changes, a migration that sets
-- the column to NULL has them all recomputed.

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "emailSkeleton" VARCHAR(500);

-- CreateIndex
CREATE INDEX "Customer_emailSkeleton_idx" ON "Customer"("emailSkeleton");
