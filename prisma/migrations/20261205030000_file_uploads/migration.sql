-- Bytes of uploads in flight. A file's bytes go to PostgreSQL straight over the connection pool
-- (binary parameters: a 20 MB file costs the event loop ~5 ms), before the transaction that
-- attaches it; that transaction then moves them into "FileContent" inside the database and
-- deletes the staged row, so that only committed attachments have content. (Through Prisma's
-- query layer the same 20 MB held the event loop for 160-750 ms.) A staged row whose
-- transaction failed is deleted right after; one whose process died is swept after an hour.
-- UNLOGGED: nothing here needs to survive a crash (an upload cut off by one is lost anyway).

-- CreateTable
CREATE UNLOGGED TABLE "FileUpload" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "bytes" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FileUpload_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FileUpload_createdAt_idx" ON "FileUpload"("createdAt");
