-- Automation rules (event and time-based), their append-only history and their log; macros and
-- canned replies; tags on tickets; a rule as the actor of ticket history and work-log entries.

CREATE TYPE "RuleEvent" AS ENUM ('CREATED', 'UPDATED', 'CUSTOMER_REPLIED', 'SLA_WARNING', 'SLA_BREACH', 'NO_UPDATE');

ALTER TYPE "HistoryAction" ADD VALUE 'MACRO_APPLIED';
ALTER TYPE "HistoryAction" ADD VALUE 'ACTIVATED';
ALTER TYPE "HistoryAction" ADD VALUE 'DEACTIVATED';

CREATE TABLE "AutomationRule" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "description" TEXT,
    "event" "RuleEvent" NOT NULL,
    -- For NO_UPDATE: the quiet period in hours.
    "quietHours" INTEGER,
    "conditions" JSONB NOT NULL,
    "actions" JSONB NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "position" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" INTEGER NOT NULL,
    CONSTRAINT "AutomationRule_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "AutomationRule_quietHours_check"
      CHECK (("event" = 'NO_UPDATE') = ("quietHours" IS NOT NULL) AND ("quietHours" IS NULL OR "quietHours" BETWEEN 1 AND 8760))
);
CREATE UNIQUE INDEX "AutomationRule_name_key" ON "AutomationRule"("name");
CREATE INDEX "AutomationRule_active_position_id_idx" ON "AutomationRule"("active", "position", "id");
ALTER TABLE "AutomationRule" ADD CONSTRAINT "AutomationRule_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "AutomationRuleHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ruleId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,
    CONSTRAINT "AutomationRuleHistory_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AutomationRuleHistory_ruleId_createdAt_id_idx" ON "AutomationRuleHistory"("ruleId", "createdAt", "id");
ALTER TABLE "AutomationRuleHistory" ADD CONSTRAINT "AutomationRuleHistory_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "AutomationRule"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "AutomationRuleHistory" ADD CONSTRAINT "AutomationRuleHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE TRIGGER "AutomationRuleHistory_append_only"
  BEFORE UPDATE OR DELETE ON "AutomationRuleHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "AutomationRuleHistory_no_truncate"
  BEFORE TRUNCATE ON "AutomationRuleHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- When a rule fired (matched) on a ticket, with the per-condition results and what its actions did.
-- Kept bounded: only firings are logged (not every evaluation), the newest per rule (pruned by the sweep).
CREATE TABLE "AutomationRuleLog" (
    "id" SERIAL NOT NULL,
    "ruleId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "event" VARCHAR(40) NOT NULL,
    "matched" BOOLEAN NOT NULL,
    "conditions" JSONB NOT NULL,
    "actions" JSONB NOT NULL,
    "note" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AutomationRuleLog_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AutomationRuleLog_ruleId_createdAt_id_idx" ON "AutomationRuleLog"("ruleId", "createdAt" DESC, "id" DESC);
CREATE INDEX "AutomationRuleLog_ticketId_idx" ON "AutomationRuleLog"("ticketId");
ALTER TABLE "AutomationRuleLog" ADD CONSTRAINT "AutomationRuleLog_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "AutomationRule"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "AutomationRuleLog" ADD CONSTRAINT "AutomationRuleLog_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A time-based rule fires once per ticket per quiet period: the ticket's updatedAt it fired for.
CREATE TABLE "AutomationRuleFiring" (
    "ruleId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "ticketUpdatedAt" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "AutomationRuleFiring_pkey" PRIMARY KEY ("ruleId", "ticketId")
);
ALTER TABLE "AutomationRuleFiring" ADD CONSTRAINT "AutomationRuleFiring_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "AutomationRule"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "AutomationRuleFiring" ADD CONSTRAINT "AutomationRuleFiring_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- The sweep narrows by the queue's existing index "Ticket_status_updatedAt_id_idx".

-- A rule as the actor of a ticket's history row ("Rule: VIP customers → High"): actorSystem 'rule'
-- and the rule (rules are deactivated, never deleted).
ALTER TABLE "TicketHistory" ADD COLUMN "actorRuleId" INTEGER;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_actorRuleId_fkey" FOREIGN KEY ("actorRuleId") REFERENCES "AutomationRule"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_actorRule_check"
  CHECK ("actorRuleId" IS NULL OR "actorSystem" = 'rule');

-- Work-log entries written by a rule (a note, a reply from a template): exactly one author.
ALTER TABLE "WorkLogEntry" ADD COLUMN "authorSystem" VARCHAR(40);
ALTER TABLE "WorkLogEntry" ADD COLUMN "authorRuleId" INTEGER;
ALTER TABLE "WorkLogEntry" DROP CONSTRAINT "WorkLogEntry_one_author_check";
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_one_author_check"
  CHECK (num_nonnulls("authorId", "authorCustomerId", "authorSystem") = 1);
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_authorRule_check"
  CHECK ("authorRuleId" IS NULL OR "authorSystem" = 'rule');
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_authorRuleId_fkey" FOREIGN KEY ("authorRuleId") REFERENCES "AutomationRule"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Tags: lower-case words, a bounded number of them (a tracked field: history rows).
ALTER TABLE "Ticket" ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE "Ticket" ADD CONSTRAINT "Ticket_tags_check" CHECK (cardinality("tags") <= 20);
CREATE INDEX "Ticket_tags_idx" ON "Ticket" USING GIN ("tags");

-- Macros: named sets of actions with an optional reply template; personal (ownerId) or shared (null).
CREATE TABLE "Macro" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "ownerId" INTEGER,
    "actions" JSONB NOT NULL,
    "reply" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Macro_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Macro_ownerId_name_idx" ON "Macro"("ownerId", "name");
ALTER TABLE "Macro" ADD CONSTRAINT "Macro_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Canned replies: named texts with placeholders, personal (ownerId) or shared (null).
CREATE TABLE "CannedReply" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "ownerId" INTEGER,
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "CannedReply_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "CannedReply_ownerId_name_idx" ON "CannedReply"("ownerId", "name");
ALTER TABLE "CannedReply" ADD CONSTRAINT "CannedReply_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
