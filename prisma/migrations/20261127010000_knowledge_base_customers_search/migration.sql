-- Knowledge base, customer records, and full-text search over tickets, work log and articles.

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "unaccent";

-- Full-text configuration: English stemming, accents ignored ("café" finds "cafe").
CREATE TEXT SEARCH CONFIGURATION "caseboard" (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION "caseboard"
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

-- array_to_string is only STABLE in general; for text[] it cannot change, so a generated
-- column may use it through this wrapper.
CREATE FUNCTION "caseboard_words"(text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;

-- AlterEnum
ALTER TYPE "HistoryAction" ADD VALUE 'LINKED';
ALTER TYPE "HistoryAction" ADD VALUE 'UNLINKED';
ALTER TYPE "HistoryAction" ADD VALUE 'MERGED';

-- CreateEnum
CREATE TYPE "ArticleStatus" AS ENUM ('DRAFT', 'PUBLISHED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "ArticleVisibility" AS ENUM ('INTERNAL', 'PUBLIC');

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "environment" TEXT,
ADD COLUMN "notes" TEXT,
ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN "mergedIntoId" INTEGER;

-- AlterTable
ALTER TABLE "Ticket" ADD COLUMN "resolutionArticleId" INTEGER,
ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('caseboard'::regconfig, "title"), 'A') ||
  setweight(to_tsvector('caseboard'::regconfig, "description"), 'B')
) STORED;

-- AlterTable
ALTER TABLE "WorkLogEntry" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  to_tsvector('caseboard'::regconfig, "body")
) STORED;

-- CreateTable
CREATE TABLE "CustomerHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "oldRefId" INTEGER,
    "newRefId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "customerId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,

    CONSTRAINT "CustomerHistory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Article" (
    "id" SERIAL NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "body" TEXT NOT NULL,
    "category" VARCHAR(80),
    "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "status" "ArticleStatus" NOT NULL DEFAULT 'DRAFT',
    "visibility" "ArticleVisibility" NOT NULL DEFAULT 'INTERNAL',
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMPTZ(3),
    "authorId" INTEGER NOT NULL,
    "sourceTicketId" INTEGER,
    "search" tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('caseboard'::regconfig, "title"), 'A') ||
      setweight(to_tsvector('caseboard'::regconfig, "caseboard_words"("tags")), 'B') ||
      setweight(to_tsvector('caseboard'::regconfig, "body"), 'C')
    ) STORED,

    CONSTRAINT "Article_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ArticleRevision" (
    "id" SERIAL NOT NULL,
    "version" INTEGER NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "body" TEXT NOT NULL,
    "category" VARCHAR(80),
    "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "articleId" INTEGER NOT NULL,
    "editorId" INTEGER NOT NULL,

    CONSTRAINT "ArticleRevision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ArticleHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "articleId" INTEGER NOT NULL,
    "actorId" INTEGER NOT NULL,

    CONSTRAINT "ArticleHistory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TicketArticle" (
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ticketId" INTEGER NOT NULL,
    "articleId" INTEGER NOT NULL,
    "linkedById" INTEGER NOT NULL,

    CONSTRAINT "TicketArticle_pkey" PRIMARY KEY ("ticketId","articleId")
);

-- CreateIndex
CREATE INDEX "Customer_name_trgm_idx" ON "Customer" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Customer_email_trgm_idx" ON "Customer" USING GIN ("email" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Customer_organization_name_idx" ON "Customer"("organization", "name");

-- CreateIndex
CREATE INDEX "Ticket_search_idx" ON "Ticket" USING GIN ("search");

-- CreateIndex
CREATE INDEX "WorkLogEntry_search_idx" ON "WorkLogEntry" USING GIN ("search");

-- CreateIndex
CREATE INDEX "CustomerHistory_customerId_createdAt_id_idx" ON "CustomerHistory"("customerId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Article_search_idx" ON "Article" USING GIN ("search");

-- CreateIndex
CREATE INDEX "Article_title_trgm_idx" ON "Article" USING GIN ("title" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Article_status_updatedAt_idx" ON "Article"("status", "updatedAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "ArticleRevision_articleId_version_key" ON "ArticleRevision"("articleId", "version");

-- CreateIndex
CREATE INDEX "ArticleHistory_articleId_createdAt_id_idx" ON "ArticleHistory"("articleId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "TicketArticle_articleId_idx" ON "TicketArticle"("articleId");

-- AddForeignKey
ALTER TABLE "Customer" ADD CONSTRAINT "Customer_mergedIntoId_fkey" FOREIGN KEY ("mergedIntoId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Ticket" ADD CONSTRAINT "Ticket_resolutionArticleId_fkey" FOREIGN KEY ("resolutionArticleId") REFERENCES "Article"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerHistory" ADD CONSTRAINT "CustomerHistory_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerHistory" ADD CONSTRAINT "CustomerHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Article" ADD CONSTRAINT "Article_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Article" ADD CONSTRAINT "Article_sourceTicketId_fkey" FOREIGN KEY ("sourceTicketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ArticleRevision" ADD CONSTRAINT "ArticleRevision_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ArticleRevision" ADD CONSTRAINT "ArticleRevision_editorId_fkey" FOREIGN KEY ("editorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ArticleHistory" ADD CONSTRAINT "ArticleHistory_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ArticleHistory" ADD CONSTRAINT "ArticleHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketArticle" ADD CONSTRAINT "TicketArticle_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketArticle" ADD CONSTRAINT "TicketArticle_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketArticle" ADD CONSTRAINT "TicketArticle_linkedById_fkey" FOREIGN KEY ("linkedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Append-only histories (the function comes from the first migration).
CREATE TRIGGER "CustomerHistory_append_only"
  BEFORE UPDATE OR DELETE ON "CustomerHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "CustomerHistory_no_truncate"
  BEFORE TRUNCATE ON "CustomerHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "ArticleHistory_append_only"
  BEFORE UPDATE OR DELETE ON "ArticleHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "ArticleHistory_no_truncate"
  BEFORE TRUNCATE ON "ArticleHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- Revisions are history too: a saved version of an article never changes.
CREATE TRIGGER "ArticleRevision_append_only"
  BEFORE UPDATE OR DELETE ON "ArticleRevision"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();
