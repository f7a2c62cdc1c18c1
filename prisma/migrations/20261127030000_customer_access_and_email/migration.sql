-- End users and email: customers act on their own tickets (web form, private access link, email),
-- an outbox of mails (sent by a pg-boss job queued by a trigger in the same transaction),
-- hashed private access links, and every inbound message with what became of it (quarantine).

-- AlterEnum (new values are not used in this migration: PostgreSQL only allows that after commit)
ALTER TYPE "WorkLogKind" ADD VALUE 'REPLY';
ALTER TYPE "WorkLogKind" ADD VALUE 'CUSTOMER_REPLY';
ALTER TYPE "HistoryAction" ADD VALUE 'ACCESS_REVOKED';
ALTER TYPE "HistoryAction" ADD VALUE 'MAIL_ATTACHED';

-- CreateEnum
CREATE TYPE "MailKind" AS ENUM ('TICKET_CREATED', 'REPLY', 'WAITING_ON_CUSTOMER', 'RESOLVED');
CREATE TYPE "MailState" AS ENUM ('QUEUED', 'SENT', 'FAILED');
CREATE TYPE "InboundMailState" AS ENUM ('ADDED', 'NEW_TICKET', 'QUARANTINED', 'ATTACHED', 'TURNED_INTO_TICKET', 'DISCARDED', 'IGNORED');

-- Tickets reported by customers themselves (web form, email) have no staff creator.
ALTER TABLE "Ticket" ALTER COLUMN "createdById" DROP NOT NULL;
ALTER TABLE "Ticket" ADD CONSTRAINT "Ticket_creator_check"
  CHECK ("createdById" IS NOT NULL OR "channel" IN ('WEB', 'EMAIL'));

-- Work-log entries and history rows are written by a staff member or by the ticket's customer.
ALTER TABLE "WorkLogEntry" ALTER COLUMN "authorId" DROP NOT NULL;
ALTER TABLE "WorkLogEntry" ADD COLUMN "authorCustomerId" INTEGER;
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_one_author_check"
  CHECK (num_nonnulls("authorId", "authorCustomerId") = 1);
ALTER TABLE "TicketHistory" ALTER COLUMN "actorId" DROP NOT NULL;
ALTER TABLE "TicketHistory" ADD COLUMN "actorCustomerId" INTEGER;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_one_actor_check"
  CHECK (num_nonnulls("actorId", "actorCustomerId") = 1);

-- CreateTable
CREATE TABLE "OutboundMail" (
    "id" SERIAL NOT NULL,
    "kind" "MailKind" NOT NULL,
    "recipient" VARCHAR(254) NOT NULL,
    "payload" JSONB NOT NULL,
    "state" "MailState" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "messageId" VARCHAR(200),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" TIMESTAMPTZ(3),
    "ticketId" INTEGER NOT NULL,

    CONSTRAINT "OutboundMail_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TicketAccessToken" (
    "id" SERIAL NOT NULL,
    "tokenHash" VARCHAR(64) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),
    "ticketId" INTEGER NOT NULL,
    "mailId" INTEGER,

    CONSTRAINT "TicketAccessToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InboundMail" (
    "id" SERIAL NOT NULL,
    "messageId" VARCHAR(998),
    "fromAddress" VARCHAR(254) NOT NULL,
    "fromName" VARCHAR(200),
    "subject" VARCHAR(998) NOT NULL,
    "body" TEXT NOT NULL,
    "state" "InboundMailState" NOT NULL,
    "reason" TEXT,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "matchedTicketId" INTEGER,
    "ticketId" INTEGER,
    "decidedById" INTEGER,
    "decidedAt" TIMESTAMPTZ(3),

    CONSTRAINT "InboundMail_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OutboundMail_ticketId_createdAt_id_idx" ON "OutboundMail"("ticketId", "createdAt", "id");
CREATE INDEX "OutboundMail_state_createdAt_idx" ON "OutboundMail"("state", "createdAt");
CREATE UNIQUE INDEX "TicketAccessToken_tokenHash_key" ON "TicketAccessToken"("tokenHash");
CREATE INDEX "TicketAccessToken_ticketId_idx" ON "TicketAccessToken"("ticketId");
CREATE UNIQUE INDEX "InboundMail_messageId_key" ON "InboundMail"("messageId");
CREATE INDEX "InboundMail_state_receivedAt_idx" ON "InboundMail"("state", "receivedAt" DESC);
CREATE INDEX "InboundMail_fromAddress_receivedAt_idx" ON "InboundMail"("fromAddress", "receivedAt");
CREATE INDEX "InboundMail_ticketId_idx" ON "InboundMail"("ticketId");

-- AddForeignKey
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_authorCustomerId_fkey" FOREIGN KEY ("authorCustomerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_actorCustomerId_fkey" FOREIGN KEY ("actorCustomerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "OutboundMail" ADD CONSTRAINT "OutboundMail_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketAccessToken" ADD CONSTRAINT "TicketAccessToken_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketAccessToken" ADD CONSTRAINT "TicketAccessToken_mailId_fkey" FOREIGN KEY ("mailId") REFERENCES "OutboundMail"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "InboundMail" ADD CONSTRAINT "InboundMail_matchedTicketId_fkey" FOREIGN KEY ("matchedTicketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "InboundMail" ADD CONSTRAINT "InboundMail_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "InboundMail" ADD CONSTRAINT "InboundMail_decidedById_fkey" FOREIGN KEY ("decidedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The outbox: every mail row queues its sending job in the same transaction, whatever code wrote it.
-- The job is pg-boss's (its schema is installed by the migrator right after these migrations, with
-- the queue "send_mail"): this is the row its send() inserts, with the queue's retry and expiry
-- settings, as its own insert SQL computes them.
CREATE FUNCTION "caseboard_queue_mail"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pgboss.job (name, data, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, dead_letter, policy)
  SELECT q.name, jsonb_build_object('mailId', NEW.id),
         coalesce(q.retry_limit, 2),
         CASE WHEN coalesce(q.retry_backoff, false) THEN greatest(coalesce(q.retry_delay, 0), 1) ELSE coalesce(q.retry_delay, 0) END,
         coalesce(q.retry_backoff, false),
         coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
         now() + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
         q.dead_letter, q.policy
  FROM pgboss.queue q WHERE q.name = 'send_mail';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the job queue "send_mail" does not exist: the migrator installs it';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "OutboundMail_queue"
  AFTER INSERT ON "OutboundMail"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_queue_mail"();

-- An inbound message is a record: only a quarantined one may be decided, once, by staff.
CREATE FUNCTION "caseboard_inbound_mail_decision"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'inbound mail is a record: % on "InboundMail" is not allowed', TG_OP
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD."state" <> 'QUARANTINED'
     OR NEW."state" NOT IN ('ATTACHED', 'TURNED_INTO_TICKET', 'DISCARDED')
     OR NEW."decidedById" IS NULL
     OR (NEW."messageId", NEW."fromAddress", NEW."fromName", NEW."subject", NEW."body", NEW."reason",
         NEW."receivedAt", NEW."matchedTicketId")
        IS DISTINCT FROM
        (OLD."messageId", OLD."fromAddress", OLD."fromName", OLD."subject", OLD."body", OLD."reason",
         OLD."receivedAt", OLD."matchedTicketId") THEN
    RAISE EXCEPTION 'inbound mail is a record: only a quarantined message may be decided, once'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "InboundMail_record"
  BEFORE UPDATE OR DELETE ON "InboundMail"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_inbound_mail_decision"();

CREATE TRIGGER "InboundMail_no_truncate"
  BEFORE TRUNCATE ON "InboundMail"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_inbound_mail_decision"();
