-- Signed webhooks (issue 13): endpoints admins register, their append-only history, and the
-- deliveries (an outbox: each row's trigger queues its pg-boss job in the transaction of the
-- ticket change that wrote it) with a log of every attempt.

-- AlterEnum (new values are not used in this migration's transaction)
ALTER TYPE "HistoryAction" ADD VALUE 'SECRET_ROLLED';
ALTER TYPE "HistoryAction" ADD VALUE 'DELETED';
ALTER TYPE "HistoryAction" ADD VALUE 'RESENT';

-- CreateEnum
CREATE TYPE "WebhookDeliveryState" AS ENUM ('QUEUED', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" SERIAL NOT NULL,
    "url" VARCHAR(2000) NOT NULL,
    "description" VARCHAR(500) NOT NULL DEFAULT '',
    "events" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "secret" VARCHAR(200) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" TIMESTAMPTZ(3),
    "createdById" INTEGER NOT NULL,

    CONSTRAINT "WebhookEndpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookEndpointHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "refId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endpointId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,

    CONSTRAINT "WebhookEndpointHistory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" SERIAL NOT NULL,
    "eventId" UUID NOT NULL,
    "eventType" VARCHAR(40) NOT NULL,
    "body" TEXT NOT NULL,
    "state" "WebhookDeliveryState" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attemptingUntil" TIMESTAMPTZ(3),
    "lastAttemptAt" TIMESTAMPTZ(3),
    "responseStatus" INTEGER,
    "finishedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketId" INTEGER,
    "endpointId" INTEGER NOT NULL,
    "resentById" INTEGER,
    "resendOfId" INTEGER,

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "WebhookDelivery_finished_check" CHECK (("state" = 'QUEUED') = ("finishedAt" IS NULL))
);

-- CreateTable
CREATE TABLE "WebhookAttempt" (
    "id" SERIAL NOT NULL,
    "number" INTEGER NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "status" INTEGER,
    "excerpt" TEXT,
    "error" VARCHAR(1000),
    "deliveryId" INTEGER NOT NULL,

    CONSTRAINT "WebhookAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "WebhookEndpoint_createdById_idx" ON "WebhookEndpoint"("createdById");

-- CreateIndex
CREATE INDEX "WebhookEndpointHistory_endpointId_createdAt_id_idx" ON "WebhookEndpointHistory"("endpointId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "WebhookEndpointHistory_actorId_idx" ON "WebhookEndpointHistory"("actorId");

-- CreateIndex
CREATE INDEX "WebhookDelivery_endpointId_id_idx" ON "WebhookDelivery"("endpointId", "id" DESC);

-- CreateIndex
CREATE INDEX "WebhookDelivery_state_nextAttemptAt_idx" ON "WebhookDelivery"("state", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_resentById_idx" ON "WebhookDelivery"("resentById");

-- CreateIndex
CREATE INDEX "WebhookAttempt_deliveryId_id_idx" ON "WebhookAttempt"("deliveryId", "id");

-- AddForeignKey
ALTER TABLE "WebhookEndpoint" ADD CONSTRAINT "WebhookEndpoint_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEndpointHistory" ADD CONSTRAINT "WebhookEndpointHistory_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEndpointHistory" ADD CONSTRAINT "WebhookEndpointHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_resentById_fkey" FOREIGN KEY ("resentById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookAttempt" ADD CONSTRAINT "WebhookAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "WebhookDelivery"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Records that only grow (the function comes from the first migration).
CREATE TRIGGER "WebhookEndpointHistory_append_only"
  BEFORE UPDATE OR DELETE ON "WebhookEndpointHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "WebhookEndpointHistory_no_truncate"
  BEFORE TRUNCATE ON "WebhookEndpointHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "WebhookAttempt_append_only"
  BEFORE UPDATE OR DELETE ON "WebhookAttempt"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "WebhookAttempt_no_truncate"
  BEFORE TRUNCATE ON "WebhookAttempt"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- Queues the sending job of a delivery, to start at `start_after`: pg-boss's own job row, with the
-- queue's expiry settings (the queue "webhook_delivery" is installed by the migrator). Retries
-- are the application's (a new job per attempt, src/services/webhooks/deliver.ts), so the job
-- itself is never retried by pg-boss; a delivery whose job was lost is queued again by the sweep.
CREATE FUNCTION "caseboard_queue_webhook"(delivery_id INTEGER, start_after TIMESTAMPTZ) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pgboss.job (name, data, start_after, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, dead_letter, policy)
  SELECT q.name, jsonb_build_object('deliveryId', delivery_id), start_after,
         0, 0, false,
         coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
         greatest(start_after, now()) + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
         q.dead_letter, q.policy
  FROM pgboss.queue q WHERE q.name = 'webhook_delivery';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the job queue "webhook_delivery" does not exist: the migrator installs it';
  END IF;
END $$;

CREATE FUNCTION "caseboard_queue_webhook_delivery"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "caseboard_queue_webhook"(NEW.id, NEW."nextAttemptAt");
  RETURN NULL;
END $$;

CREATE TRIGGER "WebhookDelivery_queue"
  AFTER INSERT ON "WebhookDelivery"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_queue_webhook_delivery"();
