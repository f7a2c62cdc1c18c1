-- Attachments: files on a ticket's initial report, on its work-log entries, and on inbound mail.
--
-- The bytes are kept once per SHA-256 in "FileContent" (the default content store:
-- src/services/attachments/store.ts); each "Attachment" row names its file, the type detected
-- from its bytes, its size and hash, and who added it. Content is written in the same
-- transaction as the rows that reference it, so a rolled-back upload leaves no bytes behind.
--
-- An attachment is a record like the history: the database refuses to delete one, and the only
-- change it allows is its redaction (once, by a staff member: the link to its bytes is cut).
-- Bytes that no attachment references any more are deleted by the redaction that released them.

-- AlterEnum
ALTER TYPE "HistoryAction" ADD VALUE 'ATTACHMENT_ADDED';
ALTER TYPE "HistoryAction" ADD VALUE 'ATTACHMENT_REDACTED';

-- CreateTable
CREATE TABLE "FileContent" (
    "sha256" CHAR(64) NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FileContent_pkey" PRIMARY KEY ("sha256"),
    CONSTRAINT "FileContent_sha256_check" CHECK ("sha256" ~ '^[0-9a-f]{64}$'),
    CONSTRAINT "FileContent_size_check" CHECK ("size" = octet_length("bytes"))
);

-- CreateTable
CREATE TABLE "Attachment" (
    "id" SERIAL NOT NULL,
    "fileName" VARCHAR(255) NOT NULL,
    "mediaType" VARCHAR(127) NOT NULL,
    "size" INTEGER NOT NULL,
    "sha256" CHAR(64),
    "contentId" VARCHAR(255),
    "inline" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketId" INTEGER,
    "workLogEntryId" INTEGER,
    "inboundMailId" INTEGER,
    "addedById" INTEGER,
    "addedByCustomerId" INTEGER,
    "redactedAt" TIMESTAMPTZ(3),
    "redactedById" INTEGER,

    CONSTRAINT "Attachment_pkey" PRIMARY KEY ("id"),
    -- On a ticket (its report or an entry), or held with a quarantined mail.
    CONSTRAINT "Attachment_owner_check" CHECK ("ticketId" IS NOT NULL OR "inboundMailId" IS NOT NULL),
    CONSTRAINT "Attachment_entry_check" CHECK ("workLogEntryId" IS NULL OR "ticketId" IS NOT NULL),
    -- Staff, the customer, or (a quarantined stranger's mail) nobody known.
    CONSTRAINT "Attachment_adder_check" CHECK (num_nonnulls("addedById", "addedByCustomerId") <= 1),
    CONSTRAINT "Attachment_redaction_check" CHECK (("redactedAt" IS NULL) = ("redactedById" IS NULL)),
    -- Only a redacted attachment has no bytes.
    CONSTRAINT "Attachment_content_check" CHECK ("sha256" IS NOT NULL OR "redactedAt" IS NOT NULL),
    CONSTRAINT "Attachment_size_check" CHECK ("size" >= 0)
);

-- CreateIndex
CREATE INDEX "Attachment_ticketId_id_idx" ON "Attachment"("ticketId", "id");
CREATE INDEX "Attachment_workLogEntryId_idx" ON "Attachment"("workLogEntryId");
CREATE INDEX "Attachment_inboundMailId_idx" ON "Attachment"("inboundMailId");
CREATE INDEX "Attachment_sha256_idx" ON "Attachment"("sha256");

-- AddForeignKey
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "FileContent"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_workLogEntryId_fkey" FOREIGN KEY ("workLogEntryId") REFERENCES "WorkLogEntry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_inboundMailId_fkey" FOREIGN KEY ("inboundMailId") REFERENCES "InboundMail"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_addedById_fkey" FOREIGN KEY ("addedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_addedByCustomerId_fkey" FOREIGN KEY ("addedByCustomerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_redactedById_fkey" FOREIGN KEY ("redactedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- An attachment is a record: never deleted; changed only by its redaction, once.
CREATE FUNCTION "caseboard_attachment_record"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'attachments are a record: % on "Attachment" is not allowed', TG_OP
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD."redactedAt" IS NOT NULL OR NEW."redactedAt" IS NULL OR NEW."redactedById" IS NULL
     OR NEW."sha256" IS NOT NULL
     OR (NEW."id", NEW."fileName", NEW."mediaType", NEW."size", NEW."contentId", NEW."inline", NEW."createdAt",
         NEW."ticketId", NEW."workLogEntryId", NEW."inboundMailId", NEW."addedById", NEW."addedByCustomerId")
        IS DISTINCT FROM
        (OLD."id", OLD."fileName", OLD."mediaType", OLD."size", OLD."contentId", OLD."inline", OLD."createdAt",
         OLD."ticketId", OLD."workLogEntryId", OLD."inboundMailId", OLD."addedById", OLD."addedByCustomerId") THEN
    RAISE EXCEPTION 'attachments are a record: only its redaction may change one, once'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "Attachment_record"
  BEFORE UPDATE OR DELETE ON "Attachment"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_attachment_record"();

CREATE TRIGGER "Attachment_no_truncate"
  BEFORE TRUNCATE ON "Attachment"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_attachment_record"();
