-- Automatic error reports (issue 13, part 3): applications report exceptions (Sentry protocol or
-- a small JSON endpoint); each distinct problem is one ticket, created and reopened by the
-- project's service account. Counters are updated in batches; only the newest events are kept.

-- CreateTable
CREATE TABLE "ErrorProject" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "keyHash" VARCHAR(64) NOT NULL,
    "keyPrefix" VARCHAR(8) NOT NULL,
    "urgency" "Urgency" NOT NULL DEFAULT 'NORMAL',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "perMinute" INTEGER,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "teamId" INTEGER NOT NULL,
    "customerId" INTEGER NOT NULL,
    "serviceUserId" INTEGER NOT NULL,

    CONSTRAINT "ErrorProject_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ErrorProject_perMinute_check" CHECK ("perMinute" IS NULL OR "perMinute" >= 1)
);

-- CreateTable
CREATE TABLE "ErrorProjectHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "projectId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,

    CONSTRAINT "ErrorProjectHistory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ErrorProblem" (
    "id" SERIAL NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "type" VARCHAR(200) NOT NULL,
    "message" VARCHAR(1000) NOT NULL,
    "culprit" VARCHAR(500),
    "firstSeen" TIMESTAMPTZ(3) NOT NULL,
    "lastSeen" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,
    "releases" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "environments" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "fixedInRelease" VARCHAR(200),
    "projectId" INTEGER NOT NULL,
    "ticketId" INTEGER NOT NULL,

    CONSTRAINT "ErrorProblem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ErrorEvent" (
    "id" SERIAL NOT NULL,
    "eventId" VARCHAR(32) NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "release" VARCHAR(200),
    "environment" VARCHAR(64),
    "data" JSONB NOT NULL,
    "problemId" INTEGER NOT NULL,

    CONSTRAINT "ErrorEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ErrorRateWindow" (
    "windowStart" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "projectId" INTEGER NOT NULL,

    CONSTRAINT "ErrorRateWindow_pkey" PRIMARY KEY ("projectId","windowStart")
);

-- CreateIndex
CREATE UNIQUE INDEX "ErrorProject_keyHash_key" ON "ErrorProject"("keyHash");
CREATE UNIQUE INDEX "ErrorProject_serviceUserId_key" ON "ErrorProject"("serviceUserId");
CREATE INDEX "ErrorProject_teamId_idx" ON "ErrorProject"("teamId");
CREATE INDEX "ErrorProject_customerId_idx" ON "ErrorProject"("customerId");
CREATE INDEX "ErrorProjectHistory_projectId_createdAt_id_idx" ON "ErrorProjectHistory"("projectId", "createdAt", "id");
CREATE UNIQUE INDEX "ErrorProblem_ticketId_key" ON "ErrorProblem"("ticketId");
CREATE UNIQUE INDEX "ErrorProblem_projectId_fingerprint_key" ON "ErrorProblem"("projectId", "fingerprint");
CREATE INDEX "ErrorProblem_projectId_lastSeen_idx" ON "ErrorProblem"("projectId", "lastSeen");
CREATE INDEX "ErrorEvent_problemId_id_idx" ON "ErrorEvent"("problemId", "id");
CREATE INDEX "ErrorEvent_receivedAt_idx" ON "ErrorEvent"("receivedAt");

-- AddForeignKey
ALTER TABLE "ErrorProject" ADD CONSTRAINT "ErrorProject_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProject" ADD CONSTRAINT "ErrorProject_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProject" ADD CONSTRAINT "ErrorProject_serviceUserId_fkey" FOREIGN KEY ("serviceUserId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProjectHistory" ADD CONSTRAINT "ErrorProjectHistory_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "ErrorProject"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProjectHistory" ADD CONSTRAINT "ErrorProjectHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProblem" ADD CONSTRAINT "ErrorProblem_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "ErrorProject"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorProblem" ADD CONSTRAINT "ErrorProblem_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ErrorEvent" ADD CONSTRAINT "ErrorEvent_problemId_fkey" FOREIGN KEY ("problemId") REFERENCES "ErrorProblem"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ErrorRateWindow" ADD CONSTRAINT "ErrorRateWindow_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "ErrorProject"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The project history is append-only, like every history table.
CREATE TRIGGER "ErrorProjectHistory_append_only"
  BEFORE UPDATE OR DELETE ON "ErrorProjectHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "ErrorProjectHistory_no_truncate"
  BEFORE TRUNCATE ON "ErrorProjectHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();
