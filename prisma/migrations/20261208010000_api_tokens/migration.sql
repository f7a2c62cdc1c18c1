-- The REST API's tokens (src/services/api/tokens.ts), their append-only history, the creates'
-- idempotency keys, the shared rate-limit counters, and which token each ticket change was made with.
CREATE TABLE "ApiToken" (
  "id" SERIAL NOT NULL,
  "name" VARCHAR(120) NOT NULL,
  "prefix" VARCHAR(16) NOT NULL,
  "tokenHash" CHAR(64) NOT NULL,
  "scopes" TEXT[] NOT NULL,
  "expiresAt" TIMESTAMPTZ(3) NOT NULL,
  "revokedAt" TIMESTAMPTZ(3),
  "lastUsedAt" TIMESTAMPTZ(3),
  "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "userId" INTEGER NOT NULL,
  "createdById" INTEGER NOT NULL,
  "revokedById" INTEGER,
  CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");
CREATE INDEX "ApiToken_userId_createdAt_idx" ON "ApiToken"("userId", "createdAt");
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_revokedById_fkey" FOREIGN KEY ("revokedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "ApiTokenHistory" (
  "id" SERIAL NOT NULL,
  "action" "HistoryAction" NOT NULL,
  "field" VARCHAR(40),
  "newValue" TEXT,
  "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "tokenId" INTEGER NOT NULL,
  "actorId" INTEGER NOT NULL,
  CONSTRAINT "ApiTokenHistory_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "ApiTokenHistory_tokenId_createdAt_id_idx" ON "ApiTokenHistory"("tokenId", "createdAt", "id");
ALTER TABLE "ApiTokenHistory" ADD CONSTRAINT "ApiTokenHistory_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "ApiToken"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ApiTokenHistory" ADD CONSTRAINT "ApiTokenHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TRIGGER "ApiTokenHistory_append_only"
  BEFORE UPDATE OR DELETE ON "ApiTokenHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
CREATE TRIGGER "ApiTokenHistory_no_truncate"
  BEFORE TRUNCATE ON "ApiTokenHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TABLE "ApiIdempotencyKey" (
  "id" SERIAL NOT NULL,
  "key" VARCHAR(255) NOT NULL,
  "requestHash" CHAR(64) NOT NULL,
  "status" INTEGER NOT NULL,
  "response" JSONB NOT NULL,
  "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "tokenId" INTEGER NOT NULL,
  CONSTRAINT "ApiIdempotencyKey_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ApiIdempotencyKey_tokenId_key_key" ON "ApiIdempotencyKey"("tokenId", "key");
CREATE INDEX "ApiIdempotencyKey_createdAt_idx" ON "ApiIdempotencyKey"("createdAt");
ALTER TABLE "ApiIdempotencyKey" ADD CONSTRAINT "ApiIdempotencyKey_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "ApiToken"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ApiRateLimit" (
  "key" VARCHAR(100) NOT NULL,
  "hits" INTEGER NOT NULL,
  "resetAt" TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT "ApiRateLimit_pkey" PRIMARY KEY ("key")
);

-- Which token a change was made with: only ever beside a staff actor (a person or a service account).
ALTER TABLE "TicketHistory" ADD COLUMN "apiTokenId" INTEGER;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_apiTokenId_fkey" FOREIGN KEY ("apiTokenId") REFERENCES "ApiToken"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "TicketHistory" ADD CONSTRAINT "TicketHistory_apiToken_actor_check" CHECK ("apiTokenId" IS NULL OR "actorId" IS NOT NULL);
ALTER TABLE "WorkLogEntry" ADD COLUMN "apiTokenId" INTEGER;
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_apiTokenId_fkey" FOREIGN KEY ("apiTokenId") REFERENCES "ApiToken"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "WorkLogEntry" ADD CONSTRAINT "WorkLogEntry_apiToken_author_check" CHECK ("apiTokenId" IS NULL OR "authorId" IS NOT NULL);
