-- SLAs: business calendars with holidays, policies with targets per urgency, the due times each
-- ticket's clock gives (derived from its history by src/domain/sla-clock.ts, stored so the queue
-- sorts by them), the warnings and breaches acted on, and the history of the settings. Teams get
-- a lead (who a breach escalates to).

-- AlterEnum (the new values are not used in this transaction)
ALTER TYPE "NotificationKind" ADD VALUE 'SLA_WARNING';
ALTER TYPE "NotificationKind" ADD VALUE 'SLA_BREACH';

-- AlterTable
ALTER TABLE "Team" ADD COLUMN "leadId" INTEGER;
ALTER TABLE "Team" ADD CONSTRAINT "Team_leadId_fkey" FOREIGN KEY ("leadId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "BusinessCalendar" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "timeZone" VARCHAR(64) NOT NULL,
    "hours" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "BusinessCalendar_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "BusinessCalendar_name_key" ON "BusinessCalendar"("name");
CREATE UNIQUE INDEX "BusinessCalendar_name_lower_key" ON "BusinessCalendar"(lower("name"));

CREATE TABLE "CalendarHoliday" (
    "id" SERIAL NOT NULL,
    "calendarId" INTEGER NOT NULL,
    "date" DATE NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    CONSTRAINT "CalendarHoliday_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "CalendarHoliday_calendarId_date_key" ON "CalendarHoliday"("calendarId", "date");
ALTER TABLE "CalendarHoliday" ADD CONSTRAINT "CalendarHoliday_calendarId_fkey" FOREIGN KEY ("calendarId") REFERENCES "BusinessCalendar"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "SlaPolicy" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "calendarId" INTEGER,
    "matchUrgencies" "Urgency"[] NOT NULL DEFAULT ARRAY[]::"Urgency"[],
    "matchChannels" "Channel"[] NOT NULL DEFAULT ARRAY[]::"Channel"[],
    "matchTeamId" INTEGER,
    "matchOrganizationId" INTEGER,
    "warnPercent" INTEGER NOT NULL DEFAULT 75,
    "escalateUrgency" BOOLEAN NOT NULL DEFAULT false,
    "escalateToLead" BOOLEAN NOT NULL DEFAULT false,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SlaPolicy_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "SlaPolicy_warnPercent_check" CHECK ("warnPercent" BETWEEN 1 AND 99)
);
CREATE UNIQUE INDEX "SlaPolicy_name_key" ON "SlaPolicy"("name");
-- At most one default policy (not expressible in Prisma's schema).
CREATE UNIQUE INDEX "SlaPolicy_isDefault_key" ON "SlaPolicy"("isDefault") WHERE "isDefault";
ALTER TABLE "SlaPolicy" ADD CONSTRAINT "SlaPolicy_calendarId_fkey" FOREIGN KEY ("calendarId") REFERENCES "BusinessCalendar"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "SlaPolicy" ADD CONSTRAINT "SlaPolicy_matchTeamId_fkey" FOREIGN KEY ("matchTeamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "SlaPolicy" ADD CONSTRAINT "SlaPolicy_matchOrganizationId_fkey" FOREIGN KEY ("matchOrganizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "SlaTarget" (
    "policyId" INTEGER NOT NULL,
    "urgency" "Urgency" NOT NULL,
    "firstResponseMinutes" INTEGER,
    "nextResponseMinutes" INTEGER,
    "resolutionMinutes" INTEGER,
    CONSTRAINT "SlaTarget_pkey" PRIMARY KEY ("policyId", "urgency"),
    CONSTRAINT "SlaTarget_minutes_check" CHECK (
      coalesce("firstResponseMinutes", 1) > 0 AND coalesce("nextResponseMinutes", 1) > 0 AND coalesce("resolutionMinutes", 1) > 0)
);
ALTER TABLE "SlaTarget" ADD CONSTRAINT "SlaTarget_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "SlaPolicy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable: the stored due times (NULL everywhere until a policy exists: no rewrite).
ALTER TABLE "Ticket" ADD COLUMN "slaPolicyId" INTEGER,
ADD COLUMN "slaFirstResponseDueAt" TIMESTAMPTZ(3),
ADD COLUMN "slaNextResponseDueAt" TIMESTAMPTZ(3),
ADD COLUMN "slaResolutionDueAt" TIMESTAMPTZ(3),
ADD COLUMN "slaDueAt" TIMESTAMPTZ(3),
ADD COLUMN "slaNextCheckAt" TIMESTAMPTZ(3);
ALTER TABLE "Ticket" ADD CONSTRAINT "Ticket_slaPolicyId_fkey" FOREIGN KEY ("slaPolicyId") REFERENCES "SlaPolicy"("id") ON DELETE SET NULL ON UPDATE CASCADE;
-- The queue's "due first" order, per status and per owner and status (as the other sorts).
CREATE INDEX "Ticket_status_slaDueAt_id_idx" ON "Ticket"("status", "slaDueAt", "id");
CREATE INDEX "Ticket_assigneeId_status_slaDueAt_id_idx" ON "Ticket"("assigneeId", "status", "slaDueAt", "id");

CREATE TABLE "SlaEvent" (
    "id" SERIAL NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "target" VARCHAR(20) NOT NULL,
    "cycle" INTEGER NOT NULL,
    "phase" VARCHAR(10) NOT NULL,
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SlaEvent_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "SlaEvent_ticketId_target_cycle_phase_key" ON "SlaEvent"("ticketId", "target", "cycle", "phase");
ALTER TABLE "SlaEvent" ADD CONSTRAINT "SlaEvent_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "SlaHistory" (
    "id" SERIAL NOT NULL,
    "subject" VARCHAR(10) NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "action" VARCHAR(20) NOT NULL,
    "detail" JSONB NOT NULL,
    "actorId" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SlaHistory_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "SlaHistory_subject_subjectId_createdAt_idx" ON "SlaHistory"("subject", "subjectId", "createdAt");
ALTER TABLE "SlaHistory" ADD CONSTRAINT "SlaHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Append-only (the function comes from the first migration).
CREATE TRIGGER "SlaHistory_append_only" BEFORE UPDATE OR DELETE ON "SlaHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "SlaHistory_no_truncate" BEFORE TRUNCATE ON "SlaHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "SlaEvent_append_only" BEFORE UPDATE OR DELETE ON "SlaEvent"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "SlaEvent_no_truncate" BEFORE TRUNCATE ON "SlaEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- The SLA job: when a ticket's next check time is set or moves, a job of the queue "sla_timer"
-- (installed by the migrator) is queued for that moment, in the same transaction, as the outbox
-- queues mail. A job for a time that has since moved finds nothing to do (src/services/sla/timer.ts).
CREATE FUNCTION "caseboard_queue_sla_check"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM pgboss.queue q WHERE q.name = 'sla_timer';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the job queue "sla_timer" does not exist: the migrator installs it';
  END IF;
  INSERT INTO pgboss.job (name, data, start_after, retry_limit, retry_delay, retry_backoff,
                          expire_in, keep_until, dead_letter, policy)
  SELECT q.name, jsonb_build_object('ticketId', NEW.id, 'at', NEW."slaNextCheckAt"),
         greatest(NEW."slaNextCheckAt", now()),
         coalesce(q.retry_limit, 2),
         CASE WHEN coalesce(q.retry_backoff, false) THEN greatest(coalesce(q.retry_delay, 0), 1) ELSE coalesce(q.retry_delay, 0) END,
         coalesce(q.retry_backoff, false),
         coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
         greatest(NEW."slaNextCheckAt", now()) + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'),
         q.dead_letter, q.policy
  FROM pgboss.queue q WHERE q.name = 'sla_timer';
  RETURN NULL;
END $$;

CREATE TRIGGER "Ticket_sla_check_insert"
  AFTER INSERT ON "Ticket"
  FOR EACH ROW WHEN (NEW."slaNextCheckAt" IS NOT NULL) EXECUTE FUNCTION "caseboard_queue_sla_check"();
CREATE TRIGGER "Ticket_sla_check_update"
  AFTER UPDATE OF "slaNextCheckAt" ON "Ticket"
  FOR EACH ROW WHEN (NEW."slaNextCheckAt" IS NOT NULL AND NEW."slaNextCheckAt" IS DISTINCT FROM OLD."slaNextCheckAt")
  EXECUTE FUNCTION "caseboard_queue_sla_check"();
