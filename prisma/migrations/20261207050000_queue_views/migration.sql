-- The queue for a shift: "waiting for us since" and the last customer reply on each ticket, the
-- queue's other sorts (an index per sort whose columns and directions match its ORDER BY, per
-- status and per owner and status), who last opened which ticket, and saved views.

-- AlterTable
ALTER TABLE "Ticket" ADD COLUMN "awaitingSince" TIMESTAMPTZ(3),
ADD COLUMN "lastCustomerReplyAt" TIMESTAMPTZ(3);

-- Backfill from the work log. The last customer reply, on every ticket that has one.
UPDATE "Ticket" t SET "lastCustomerReplyAt" = w.last
  FROM (SELECT "ticketId", max("createdAt") AS last FROM "WorkLogEntry"
         WHERE kind = 'CUSTOMER_REPLY' GROUP BY "ticketId") w
 WHERE w."ticketId" = t.id;

-- Tickets that need our work (not waiting on the customer, resolved or closed) wait for us since
-- they were created when staff never replied, else since the first customer reply after the last
-- staff reply (none: we answered last, so nothing waits for us).
UPDATE "Ticket" t SET "awaitingSince" = CASE
    WHEN r.replied IS NULL THEN t."createdAt"
    ELSE (SELECT min(c."createdAt") FROM "WorkLogEntry" c
           WHERE c."ticketId" = t.id AND c.kind = 'CUSTOMER_REPLY' AND c."createdAt" > r.replied)
  END
  FROM (SELECT a.id, (SELECT max(w."createdAt") FROM "WorkLogEntry" w
                       WHERE w."ticketId" = a.id AND w.kind = 'REPLY') AS replied
          FROM "Ticket" a WHERE a.status IN ('NEW', 'OPEN', 'IN_PROGRESS')) r
 WHERE r.id = t.id;

-- Who opened which ticket, and kept counts, are bookkeeping that can be lost: UNLOGGED (no WAL),
-- so that recording a visit, which the ticket page's own statement does, does not make every
-- first view of a ticket wait for a WAL flush at commit. After a crash PostgreSQL empties them:
-- every ticket reads "updated" once more and counts are taken again. (Prisma does not model
-- UNLOGGED; its schema is otherwise the same.)

-- CreateTable
CREATE UNLOGGED TABLE "TicketView" (
    "userId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "seenVersion" INTEGER NOT NULL,
    "seenAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "TicketView_pkey" PRIMARY KEY ("userId","ticketId")
);

-- CreateTable
CREATE TABLE "SavedView" (
    "id" SERIAL NOT NULL,
    "ownerId" INTEGER NOT NULL,
    "name" VARCHAR(60) NOT NULL,
    "filters" JSONB NOT NULL,
    "sort" VARCHAR(20) NOT NULL,
    "shared" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SavedView_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE UNLOGGED TABLE "SavedViewCount" (
    "viewId" INTEGER NOT NULL,
    "viewerId" INTEGER NOT NULL,
    "n" INTEGER NOT NULL,
    "countedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SavedViewCount_pkey" PRIMARY KEY ("viewId","viewerId")
);

-- CreateIndex
CREATE INDEX "Ticket_status_updatedAt_id_idx" ON "Ticket"("status", "updatedAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Ticket_assigneeId_status_updatedAt_id_idx" ON "Ticket"("assigneeId", "status", "updatedAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Ticket_status_createdAt_id_idx" ON "Ticket"("status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Ticket_assigneeId_status_createdAt_id_idx" ON "Ticket"("assigneeId", "status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Ticket_status_awaitingSince_id_idx" ON "Ticket"("status", "awaitingSince", "id");

-- CreateIndex
CREATE INDEX "Ticket_assigneeId_status_awaitingSince_id_idx" ON "Ticket"("assigneeId", "status", "awaitingSince", "id");

-- CreateIndex
CREATE UNIQUE INDEX "SavedView_ownerId_name_key" ON "SavedView"("ownerId", "name");

-- CreateIndex
CREATE INDEX "SavedView_shared_name_idx" ON "SavedView"("shared", "name");

-- CreateIndex
CREATE INDEX "SavedViewCount_viewerId_idx" ON "SavedViewCount"("viewerId");

-- AddForeignKey
ALTER TABLE "TicketView" ADD CONSTRAINT "TicketView_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketView" ADD CONSTRAINT "TicketView_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SavedView" ADD CONSTRAINT "SavedView_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SavedViewCount" ADD CONSTRAINT "SavedViewCount_viewId_fkey" FOREIGN KEY ("viewId") REFERENCES "SavedView"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SavedViewCount" ADD CONSTRAINT "SavedViewCount_viewerId_fkey" FOREIGN KEY ("viewerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
