-- Run books: versioned procedures for a kind of problem (ordered steps with instructions, an
-- optional check, an optional article, an optional outside automation), attached to tickets with
-- the exact version they are worked with.
--
-- Records: a published version and every step never change; the run book's history, the ticket's
-- attachments and the steps done on a ticket are append-only; the database refuses the rest.
-- An automation request is an "AutomationDelivery" row whose trigger queues its job (pg-boss) in
-- the transaction that wrote it, as the mail outbox does.

-- AlterEnum (new values are not used in this migration's transaction)
ALTER TYPE "HistoryAction" ADD VALUE 'RUNBOOK_ATTACHED';
ALTER TYPE "HistoryAction" ADD VALUE 'RUNBOOK_STEP_DONE';
ALTER TYPE "HistoryAction" ADD VALUE 'AUTOMATION_QUEUED';
ALTER TYPE "HistoryAction" ADD VALUE 'AUTOMATION_ANSWERED';

-- CreateEnum
CREATE TYPE "RunbookStatus" AS ENUM ('DRAFT', 'PUBLISHED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "RunbookVersionStatus" AS ENUM ('DRAFT', 'PUBLISHED');

-- CreateEnum
CREATE TYPE "RunbookCheckKind" AS ENUM ('NONE', 'VALUE', 'YES_NO');

-- CreateEnum
CREATE TYPE "RunbookAttachedHow" AS ENUM ('BY_HAND', 'BY_RULE', 'SUGGESTED');

-- CreateEnum
CREATE TYPE "AutomationState" AS ENUM ('QUEUED', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "Runbook" (
    "id" SERIAL NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "titleKey" VARCHAR(200) NOT NULL,
    "summary" TEXT NOT NULL DEFAULT '',
    "category" VARCHAR(80),
    "keywords" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "status" "RunbookStatus" NOT NULL DEFAULT 'DRAFT',
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "currentVersionId" INTEGER,
    "search" tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("title")), 'A') ||
      setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("caseboard_words"("keywords") || ' ' || coalesce("category", ''))), 'B') ||
      setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("summary")), 'C')
    ) STORED,

    CONSTRAINT "Runbook_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Runbook_titleKey_check" CHECK ("titleKey" = lower("title") AND "title" <> ''),
    CONSTRAINT "Runbook_published_check" CHECK ("status" = 'DRAFT' OR "currentVersionId" IS NOT NULL)
);

-- CreateTable
CREATE TABLE "RunbookVersion" (
    "id" SERIAL NOT NULL,
    "number" INTEGER NOT NULL,
    "status" "RunbookVersionStatus" NOT NULL DEFAULT 'DRAFT',
    "note" VARCHAR(500),
    "baseNumber" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMPTZ(3),
    "runbookId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "publishedById" INTEGER,

    CONSTRAINT "RunbookVersion_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "RunbookVersion_published_check" CHECK (("status" = 'PUBLISHED') = ("publishedAt" IS NOT NULL AND "publishedById" IS NOT NULL))
);

-- CreateTable
CREATE TABLE "RunbookStep" (
    "id" SERIAL NOT NULL,
    "position" INTEGER NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "instructions" TEXT NOT NULL DEFAULT '',
    "checkKind" "RunbookCheckKind" NOT NULL DEFAULT 'NONE',
    "checkLabel" VARCHAR(200),
    "isFix" BOOLEAN NOT NULL DEFAULT false,
    "automationUrl" VARCHAR(2000),
    "automationSecretId" INTEGER,
    "versionId" INTEGER NOT NULL,
    "articleId" INTEGER,

    CONSTRAINT "RunbookStep_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "RunbookStep_position_check" CHECK ("position" >= 1),
    CONSTRAINT "RunbookStep_check_check" CHECK (("checkKind" = 'NONE') = ("checkLabel" IS NULL)),
    CONSTRAINT "RunbookStep_automation_check" CHECK (("automationUrl" IS NULL) = ("automationSecretId" IS NULL))
);

-- CreateTable
CREATE TABLE "RunbookSecret" (
    "id" SERIAL NOT NULL,
    "secret" VARCHAR(200) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "runbookId" INTEGER NOT NULL,

    CONSTRAINT "RunbookSecret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunbookHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "runbookId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,

    CONSTRAINT "RunbookHistory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TicketRunbook" (
    "id" SERIAL NOT NULL,
    "how" "RunbookAttachedHow" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketId" INTEGER NOT NULL,
    "runbookId" INTEGER NOT NULL,
    "versionId" INTEGER NOT NULL,
    "attachedById" INTEGER,
    "attachedBySystem" VARCHAR(40),

    CONSTRAINT "TicketRunbook_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "TicketRunbook_actor_check" CHECK (num_nonnulls("attachedById", "attachedBySystem") = 1)
);

-- CreateTable
CREATE TABLE "TicketRunbookStep" (
    "id" SERIAL NOT NULL,
    "value" VARCHAR(500),
    "outcome" "FixOutcome",
    "note" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketRunbookId" INTEGER NOT NULL,
    "stepId" INTEGER NOT NULL,
    "completedById" INTEGER NOT NULL,
    "workLogEntryId" INTEGER,

    CONSTRAINT "TicketRunbookStep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AutomationDelivery" (
    "id" SERIAL NOT NULL,
    "url" VARCHAR(2000) NOT NULL,
    "payload" JSONB NOT NULL,
    "state" "AutomationState" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "responseStatus" INTEGER,
    "responseExcerpt" TEXT,
    "lastError" VARCHAR(1000),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastAttemptAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "ticketId" INTEGER NOT NULL,
    "stepId" INTEGER NOT NULL,
    "ticketStepId" INTEGER NOT NULL,

    CONSTRAINT "AutomationDelivery_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "AutomationDelivery_finished_check" CHECK (("state" = 'QUEUED') = ("finishedAt" IS NULL))
);

-- CreateIndex
CREATE UNIQUE INDEX "Runbook_titleKey_key" ON "Runbook"("titleKey");

-- CreateIndex
CREATE UNIQUE INDEX "Runbook_currentVersionId_key" ON "Runbook"("currentVersionId");

-- CreateIndex
CREATE INDEX "Runbook_search_idx" ON "Runbook" USING GIN ("search");

-- CreateIndex
CREATE INDEX "Runbook_status_updatedAt_idx" ON "Runbook"("status", "updatedAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "RunbookVersion_runbookId_number_key" ON "RunbookVersion"("runbookId", "number");

-- CreateIndex
CREATE INDEX "RunbookStep_articleId_idx" ON "RunbookStep"("articleId");

-- CreateIndex
CREATE INDEX "RunbookStep_automationSecretId_idx" ON "RunbookStep"("automationSecretId");

-- CreateIndex
CREATE UNIQUE INDEX "RunbookStep_versionId_position_key" ON "RunbookStep"("versionId", "position");

-- CreateIndex
CREATE INDEX "RunbookSecret_runbookId_idx" ON "RunbookSecret"("runbookId");

-- CreateIndex
CREATE INDEX "RunbookHistory_runbookId_createdAt_id_idx" ON "RunbookHistory"("runbookId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "TicketRunbook_versionId_idx" ON "TicketRunbook"("versionId");

-- CreateIndex
CREATE UNIQUE INDEX "TicketRunbook_ticketId_runbookId_key" ON "TicketRunbook"("ticketId", "runbookId");

-- CreateIndex
CREATE UNIQUE INDEX "TicketRunbookStep_workLogEntryId_key" ON "TicketRunbookStep"("workLogEntryId");

-- CreateIndex
CREATE INDEX "TicketRunbookStep_stepId_idx" ON "TicketRunbookStep"("stepId");

-- CreateIndex
CREATE UNIQUE INDEX "TicketRunbookStep_ticketRunbookId_stepId_key" ON "TicketRunbookStep"("ticketRunbookId", "stepId");

-- CreateIndex
CREATE INDEX "AutomationDelivery_ticketId_createdAt_id_idx" ON "AutomationDelivery"("ticketId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "AutomationDelivery_ticketStepId_idx" ON "AutomationDelivery"("ticketStepId");

-- CreateIndex
CREATE INDEX "AutomationDelivery_stepId_idx" ON "AutomationDelivery"("stepId");

-- CreateIndex
CREATE INDEX "AutomationDelivery_state_createdAt_idx" ON "AutomationDelivery"("state", "createdAt");

-- AddForeignKey
ALTER TABLE "Runbook" ADD CONSTRAINT "Runbook_currentVersionId_fkey" FOREIGN KEY ("currentVersionId") REFERENCES "RunbookVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookVersion" ADD CONSTRAINT "RunbookVersion_runbookId_fkey" FOREIGN KEY ("runbookId") REFERENCES "Runbook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookVersion" ADD CONSTRAINT "RunbookVersion_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookVersion" ADD CONSTRAINT "RunbookVersion_publishedById_fkey" FOREIGN KEY ("publishedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookStep" ADD CONSTRAINT "RunbookStep_automationSecretId_fkey" FOREIGN KEY ("automationSecretId") REFERENCES "RunbookSecret"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookStep" ADD CONSTRAINT "RunbookStep_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "RunbookVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookStep" ADD CONSTRAINT "RunbookStep_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookSecret" ADD CONSTRAINT "RunbookSecret_runbookId_fkey" FOREIGN KEY ("runbookId") REFERENCES "Runbook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookHistory" ADD CONSTRAINT "RunbookHistory_runbookId_fkey" FOREIGN KEY ("runbookId") REFERENCES "Runbook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunbookHistory" ADD CONSTRAINT "RunbookHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbook" ADD CONSTRAINT "TicketRunbook_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbook" ADD CONSTRAINT "TicketRunbook_runbookId_fkey" FOREIGN KEY ("runbookId") REFERENCES "Runbook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbook" ADD CONSTRAINT "TicketRunbook_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "RunbookVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbook" ADD CONSTRAINT "TicketRunbook_attachedById_fkey" FOREIGN KEY ("attachedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbookStep" ADD CONSTRAINT "TicketRunbookStep_ticketRunbookId_fkey" FOREIGN KEY ("ticketRunbookId") REFERENCES "TicketRunbook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbookStep" ADD CONSTRAINT "TicketRunbookStep_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "RunbookStep"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbookStep" ADD CONSTRAINT "TicketRunbookStep_completedById_fkey" FOREIGN KEY ("completedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketRunbookStep" ADD CONSTRAINT "TicketRunbookStep_workLogEntryId_fkey" FOREIGN KEY ("workLogEntryId") REFERENCES "WorkLogEntry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomationDelivery" ADD CONSTRAINT "AutomationDelivery_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomationDelivery" ADD CONSTRAINT "AutomationDelivery_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "RunbookStep"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AutomationDelivery" ADD CONSTRAINT "AutomationDelivery_ticketStepId_fkey" FOREIGN KEY ("ticketStepId") REFERENCES "TicketRunbookStep"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The title's key, whatever the application sent (PostgreSQL's lower(), as for organizations).
CREATE FUNCTION "caseboard_runbook_title_key"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."titleKey" := lower(NEW.title);
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Runbook_title_key"
  BEFORE INSERT OR UPDATE ON "Runbook"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_runbook_title_key"();

-- A version is published once (DRAFT → PUBLISHED, nothing else changing) and then never changes;
-- versions are never deleted.
CREATE FUNCTION "caseboard_runbook_version_record"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD."status" = 'DRAFT' AND NEW."status" = 'PUBLISHED'
     AND (NEW."id", NEW."number", NEW."note", NEW."baseNumber", NEW."createdAt", NEW."runbookId", NEW."authorId")
         IS NOT DISTINCT FROM
         (OLD."id", OLD."number", OLD."note", OLD."baseNumber", OLD."createdAt", OLD."runbookId", OLD."authorId") THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'a run book version is a record: only a draft may be published, once (% refused)', TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER "RunbookVersion_record"
  BEFORE UPDATE OR DELETE ON "RunbookVersion"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_runbook_version_record"();

CREATE TRIGGER "RunbookVersion_no_truncate"
  BEFORE TRUNCATE ON "RunbookVersion"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_runbook_version_record"();

-- Records that only grow (the function comes from the first migration).
CREATE TRIGGER "RunbookStep_append_only"
  BEFORE UPDATE OR DELETE ON "RunbookStep"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "RunbookStep_no_truncate"
  BEFORE TRUNCATE ON "RunbookStep"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "RunbookSecret_append_only"
  BEFORE UPDATE OR DELETE ON "RunbookSecret"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "RunbookSecret_no_truncate"
  BEFORE TRUNCATE ON "RunbookSecret"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "RunbookHistory_append_only"
  BEFORE UPDATE OR DELETE ON "RunbookHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "RunbookHistory_no_truncate"
  BEFORE TRUNCATE ON "RunbookHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "TicketRunbook_append_only"
  BEFORE UPDATE OR DELETE ON "TicketRunbook"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "TicketRunbook_no_truncate"
  BEFORE TRUNCATE ON "TicketRunbook"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "TicketRunbookStep_append_only"
  BEFORE UPDATE OR DELETE ON "TicketRunbookStep"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "TicketRunbookStep_no_truncate"
  BEFORE TRUNCATE ON "TicketRunbookStep"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- An automation request queues its sending job in the transaction that wrote it, as the outbox
-- does (see 20261127030000_customer_access_and_email): pg-boss's own job row, with the queue's
-- retry and expiry settings (the queue "runbook_automation" is installed by the migrator).
CREATE FUNCTION "caseboard_queue_automation"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pgboss.job (name, data, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, dead_letter, policy)
  SELECT q.name, jsonb_build_object('deliveryId', NEW.id),
         coalesce(q.retry_limit, 2),
         CASE WHEN coalesce(q.retry_backoff, false) THEN greatest(coalesce(q.retry_delay, 0), 1) ELSE coalesce(q.retry_delay, 0) END,
         coalesce(q.retry_backoff, false),
         coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
         now() + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
         q.dead_letter, q.policy
  FROM pgboss.queue q WHERE q.name = 'runbook_automation';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the job queue "runbook_automation" does not exist: the migrator installs it';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "AutomationDelivery_queue"
  AFTER INSERT ON "AutomationDelivery"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_queue_automation"();
