-- Teams: every ticket belongs to one; its owner, when set, is an active member of it.
-- Automatic assignment per team (off by default) gives new unowned tickets to available members.

CREATE TYPE "AutoAssignMode" AS ENUM ('OFF', 'ROUND_ROBIN', 'LEAST_LOADED');

ALTER TYPE "HistoryAction" ADD VALUE 'MEMBER_ADDED';
ALTER TYPE "HistoryAction" ADD VALUE 'MEMBER_REMOVED';

CREATE TABLE "Team" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "description" TEXT,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "autoAssign" "AutoAssignMode" NOT NULL DEFAULT 'OFF',
    "maxOpenPerPerson" INTEGER,
    "lastAssignedUserId" INTEGER,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Team_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Team_maxOpenPerPerson_check" CHECK ("maxOpenPerPerson" IS NULL OR "maxOpenPerPerson" >= 1)
);
CREATE UNIQUE INDEX "Team_name_key" ON "Team"("name");
-- Names are unique whatever their case ("Network" and "network" are one team); not expressible in schema.prisma.
CREATE UNIQUE INDEX "Team_name_lower_key" ON "Team"(lower("name"));
-- At most one default team (where new tickets go unless told otherwise).
CREATE UNIQUE INDEX "Team_isDefault_key" ON "Team"("isDefault") WHERE "isDefault";
ALTER TABLE "Team" ADD CONSTRAINT "Team_lastAssignedUserId_fkey" FOREIGN KEY ("lastAssignedUserId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "TeamMember" (
    "teamId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TeamMember_pkey" PRIMARY KEY ("teamId", "userId")
);
CREATE INDEX "TeamMember_userId_idx" ON "TeamMember"("userId");
ALTER TABLE "TeamMember" ADD CONSTRAINT "TeamMember_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TeamMember" ADD CONSTRAINT "TeamMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "TeamHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "refId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "teamId" INTEGER NOT NULL,
    "actorId" INTEGER,
    CONSTRAINT "TeamHistory_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "TeamHistory_teamId_createdAt_id_idx" ON "TeamHistory"("teamId", "createdAt", "id");
ALTER TABLE "TeamHistory" ADD CONSTRAINT "TeamHistory_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TeamHistory" ADD CONSTRAINT "TeamHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE TRIGGER "TeamHistory_append_only"
  BEFORE UPDATE OR DELETE ON "TeamHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "TeamHistory_no_truncate"
  BEFORE TRUNCATE ON "TeamHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- Whether a person takes automatically assigned tickets now (off: away, on leave, busy).
ALTER TABLE "User" ADD COLUMN "available" BOOLEAN NOT NULL DEFAULT true;

-- The default team, with every existing staff member in it (the new table's first row: id 1).
INSERT INTO "Team" ("name", "description", "isDefault")
VALUES ('Service desk', 'Where new tickets arrive unless they are sent to another team.', true);
INSERT INTO "TeamMember" ("teamId", "userId") SELECT 1, "id" FROM "User";

-- Every ticket in a team: the existing ones in the default team. A constant default is stored in
-- the catalog (no table rewrite, quick at any size); dropped at once, so that every writer names the team.
ALTER TABLE "Ticket" ADD COLUMN "teamId" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "Ticket" ALTER COLUMN "teamId" DROP DEFAULT;
ALTER TABLE "Ticket" ADD CONSTRAINT "Ticket_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- A team's queue in the queue's order; and counting one person's open tickets in a team.
CREATE INDEX "Ticket_teamId_status_urgency_createdAt_id_idx" ON "Ticket"("teamId", "status", "urgency", "createdAt", "id");

-- History rows written by the system itself (automatic assignment, later SLA and automation jobs):
-- exactly one of a staff actor, a customer actor and a system actor.
ALTER TABLE "TicketHistory" ADD COLUMN "actorSystem" VARCHAR(40);
ALTER TABLE "TicketHistory" DROP CONSTRAINT "TicketHistory_one_actor_check";
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_one_actor_check"
  CHECK (num_nonnulls("actorId", "actorCustomerId", "actorSystem") = 1);
