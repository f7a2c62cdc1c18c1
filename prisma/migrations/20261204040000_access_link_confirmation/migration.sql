-- A private access link counts as the mailbox's answer only when a person confirmed it with the
-- button on the link's page (a POST): mail providers' link scanners open every link with a plain
-- GET, so "first opened" (usedAt) proved nothing. The column is renamed for what it now means,
-- and the first-open times recorded so far are dropped: each of them may have been a scanner's.
-- Customers whose links were opened before confirm once more; nothing else is lost.

-- AlterTable
ALTER TABLE "TicketAccessToken" RENAME COLUMN "usedAt" TO "confirmedAt";
UPDATE "TicketAccessToken" SET "confirmedAt" = NULL WHERE "confirmedAt" IS NOT NULL;
