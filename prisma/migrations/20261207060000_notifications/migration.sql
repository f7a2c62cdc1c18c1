-- Notifications to staff: who follows which ticket, what each person was told (their inbox), and
-- which kinds of notice they want by mail. Mail to staff goes through the outbox like mail to
-- customers, but has no ticket of its own (a digest covers many): "OutboundMail"."ticketId" may be
-- null for those, and only for those.

-- AlterEnum (not used in this migration: PostgreSQL only allows that after commit)
ALTER TYPE "MailKind" ADD VALUE 'STAFF_NOTICE';

-- CreateEnum
CREATE TYPE "NotificationKind" AS ENUM ('ASSIGNED', 'TEAM_ASSIGNED', 'CUSTOMER_REPLY', 'MENTION', 'FOLLOWED_CHANGE');

-- AlterTable: mails to customers keep their ticket (the new kind is the only one without).
ALTER TABLE "OutboundMail" ALTER COLUMN "ticketId" DROP NOT NULL;
ALTER TABLE "OutboundMail" ADD CONSTRAINT "OutboundMail_ticket_check"
  CHECK ("ticketId" IS NOT NULL OR kind NOT IN ('TICKET_CREATED', 'REPLY', 'WAITING_ON_CUSTOMER', 'RESOLVED'));

-- CreateTable
CREATE TABLE "TicketFollower" (
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,

    CONSTRAINT "TicketFollower_pkey" PRIMARY KEY ("ticketId","userId")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" SERIAL NOT NULL,
    "kind" "NotificationKind" NOT NULL,
    "summary" VARCHAR(300) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMPTZ(3),
    "emailPending" BOOLEAN NOT NULL DEFAULT false,
    "emailedAt" TIMESTAMPTZ(3),
    "txid" BIGINT NOT NULL,
    "ticketVersion" INTEGER,
    "userId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "actorId" INTEGER,
    "actorCustomerId" INTEGER,
    "actorName" VARCHAR(120) NOT NULL,
    "workLogEntryId" INTEGER,

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Notification_one_actor_check" CHECK (num_nonnulls("actorId", "actorCustomerId") <= 1)
);

-- CreateTable
CREATE TABLE "NotificationPreference" (
    "kind" "NotificationKind" NOT NULL,
    "email" BOOLEAN NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "userId" INTEGER NOT NULL,

    CONSTRAINT "NotificationPreference_pkey" PRIMARY KEY ("userId","kind")
);

-- CreateIndex
CREATE INDEX "TicketFollower_userId_idx" ON "TicketFollower"("userId");
CREATE UNIQUE INDEX "Notification_userId_ticketId_txid_key" ON "Notification"("userId", "ticketId", "txid");
CREATE INDEX "Notification_userId_createdAt_id_idx" ON "Notification"("userId", "createdAt" DESC, "id" DESC);
CREATE INDEX "Notification_userId_readAt_createdAt_id_idx" ON "Notification"("userId", "readAt", "createdAt" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "TicketFollower" ADD CONSTRAINT "TicketFollower_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketFollower" ADD CONSTRAINT "TicketFollower_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_actorCustomerId_fkey" FOREIGN KEY ("actorCustomerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_workLogEntryId_fkey" FOREIGN KEY ("workLogEntryId") REFERENCES "WorkLogEntry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "NotificationPreference" ADD CONSTRAINT "NotificationPreference_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Mail digests: a notification to be mailed queues its person's digest job, in the same
-- transaction, to start 60 s later. The queue "notification_digest" (installed by the migrator,
-- policy "short") keeps at most one waiting job per singleton key: a burst of notifications for
-- one person queues one job, which mails everything still pending for them in one message
-- (src/services/notifications/digest.ts). A notification written while that job runs queues the next.
CREATE FUNCTION "caseboard_queue_digest"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM pgboss.queue q WHERE q.name = 'notification_digest';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the job queue "notification_digest" does not exist: the migrator installs it';
  END IF;
  INSERT INTO pgboss.job (name, data, singleton_key, start_after, retry_limit, retry_delay, retry_backoff,
                          expire_in, keep_until, dead_letter, policy)
  SELECT q.name, jsonb_build_object('userId', NEW."userId"), 'user:' || NEW."userId",
         now() + interval '60 seconds',
         coalesce(q.retry_limit, 2),
         CASE WHEN coalesce(q.retry_backoff, false) THEN greatest(coalesce(q.retry_delay, 0), 1) ELSE coalesce(q.retry_delay, 0) END,
         coalesce(q.retry_backoff, false),
         coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
         now() + interval '60 seconds' + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
         q.dead_letter, q.policy
  FROM pgboss.queue q WHERE q.name = 'notification_digest'
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER "Notification_digest"
  AFTER INSERT OR UPDATE OF "emailPending" ON "Notification"
  FOR EACH ROW WHEN (NEW."emailPending") EXECUTE FUNCTION "caseboard_queue_digest"();
