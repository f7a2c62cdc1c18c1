-- Organizations become records of their own: a name (unique whatever its case), the email domains
-- whose new customers join it, notes about its environment and contract, and whether its customers
-- see each other's tickets on the customer pages (off by default). Customers point at the record
-- instead of carrying the organization's name as free text.
--
-- Existing names become records without loss: one per name once trimmed, names differing only in
-- case becoming one record (its most frequent spelling). Each spelling a record does not keep is
-- written to that customer's history (the old value), so what each record said stays readable.
--
-- Uniqueness whatever the case: "nameKey" is the lower-case name, set by a trigger with
-- PostgreSQL's lower() (JavaScript's toLowerCase differs on a few letters: a final Σ, İ) and held
-- to that by a CHECK, with a plain unique index Prisma can describe. A domain belongs to at most
-- one organization: one row per domain, lower-case, unique.

-- AlterTable: a customer that joined an organization by the domain of its address has no actor.
ALTER TABLE "CustomerHistory" ALTER COLUMN "actorId" DROP NOT NULL;

-- CreateTable
CREATE TABLE "Organization" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "nameKey" VARCHAR(120) NOT NULL,
    "environment" TEXT,
    "contract" TEXT,
    "shareTickets" BOOLEAN NOT NULL DEFAULT false,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Organization_nameKey_check" CHECK ("nameKey" = lower("name") AND "name" <> '')
);

-- CreateTable
CREATE TABLE "OrganizationDomain" (
    "id" SERIAL NOT NULL,
    "domain" VARCHAR(253) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "organizationId" INTEGER NOT NULL,

    CONSTRAINT "OrganizationDomain_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "OrganizationDomain_domain_check" CHECK ("domain" = lower("domain") AND "domain" LIKE '%_._%')
);

-- CreateTable
CREATE TABLE "OrganizationHistory" (
    "id" SERIAL NOT NULL,
    "action" "HistoryAction" NOT NULL,
    "field" VARCHAR(40),
    "oldValue" TEXT,
    "newValue" TEXT,
    "oldRefId" INTEGER,
    "newRefId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "organizationId" INTEGER NOT NULL,
    "actorId" INTEGER,

    CONSTRAINT "OrganizationHistory_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_nameKey_key" ON "Organization"("nameKey");

-- CreateIndex
CREATE INDEX "Organization_name_trgm_idx" ON "Organization" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE UNIQUE INDEX "OrganizationDomain_domain_key" ON "OrganizationDomain"("domain");

-- CreateIndex
CREATE INDEX "OrganizationDomain_organizationId_idx" ON "OrganizationDomain"("organizationId");

-- CreateIndex
CREATE INDEX "OrganizationHistory_organizationId_createdAt_id_idx" ON "OrganizationHistory"("organizationId", "createdAt", "id");

-- AddForeignKey
ALTER TABLE "OrganizationDomain" ADD CONSTRAINT "OrganizationDomain_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OrganizationHistory" ADD CONSTRAINT "OrganizationHistory_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OrganizationHistory" ADD CONSTRAINT "OrganizationHistory_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The name's key, whatever the application sent.
CREATE FUNCTION "caseboard_organization_name_key"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."nameKey" := lower(NEW.name);
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Organization_name_key"
  BEFORE INSERT OR UPDATE ON "Organization"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_organization_name_key"();

-- Append-only history (the function comes from the first migration).
CREATE TRIGGER "OrganizationHistory_append_only"
  BEFORE UPDATE OR DELETE ON "OrganizationHistory"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_refuse_history_change"();

CREATE TRIGGER "OrganizationHistory_no_truncate"
  BEFORE TRUNCATE ON "OrganizationHistory"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_refuse_history_change"();

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "organizationId" INTEGER;

-- The existing names, as records. regexp_replace trims every kind of white space, as the forms do.
CREATE TEMPORARY TABLE "caseboard_org_names" ON COMMIT DROP AS
  SELECT c.id AS "customerId", c.organization AS original,
         regexp_replace(c.organization, '^\s+|\s+$', '', 'g') AS name
    FROM "Customer" c
   WHERE c.organization IS NOT NULL AND regexp_replace(c.organization, '^\s+|\s+$', '', 'g') <> '';

INSERT INTO "Organization" (name, "nameKey")
SELECT DISTINCT ON (lower(name)) name, lower(name)
  FROM (SELECT name, count(*) AS n FROM "caseboard_org_names" GROUP BY name) spelling
 ORDER BY lower(name), n DESC, name;

-- Each record's creation, with every spelling it was made of (one a line) when there were several.
INSERT INTO "OrganizationHistory" (action, field, "oldValue", "newValue", "organizationId")
SELECT 'CREATED', 'migrated',
       CASE WHEN count(DISTINCT n.original) > 1 OR bool_or(n.original <> o.name)
            THEN string_agg(DISTINCT n.original, E'\n') END,
       o.name, o.id
  FROM "Organization" o JOIN "caseboard_org_names" n ON lower(n.name) = o."nameKey"
 GROUP BY o.id, o.name;

UPDATE "Customer" c SET "organizationId" = o.id
  FROM "caseboard_org_names" n JOIN "Organization" o ON o."nameKey" = lower(n.name)
 WHERE n."customerId" = c.id;

-- A customer whose text differed from the record's name keeps it in its history.
INSERT INTO "CustomerHistory" (action, field, "oldValue", "newValue", "newRefId", "customerId")
SELECT 'CHANGED', 'organization', n.original, o.name, o.id, n."customerId"
  FROM "caseboard_org_names" n JOIN "Organization" o ON o."nameKey" = lower(n.name)
 WHERE n.original <> o.name;

-- Only a name made of white space had no record: it said nothing.

-- DropIndex
DROP INDEX "Customer_organization_trgm_idx";

-- DropIndex
DROP INDEX "Customer_organization_name_idx";

-- AlterTable
ALTER TABLE "Customer" DROP COLUMN "organization";

-- CreateIndex
CREATE INDEX "Customer_organizationId_name_idx" ON "Customer"("organizationId", "name");

-- AddForeignKey
ALTER TABLE "Customer" ADD CONSTRAINT "Customer_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
