-- Mail that pretends (issue 9, finding 5): what the organisation's mail server found when it
-- checked each inbound message's sender (Authentication-Results from a trusted authserv-id), the
-- envelope sender, and what is needed to limit acknowledgements per recipient and per domain.

-- CreateEnum
CREATE TYPE "MailAuthStatus" AS ENUM ('PASS', 'FAIL', 'NONE');

-- AlterTable: NULL = not checked (no trusted authserv-id configured, or received before this).
ALTER TABLE "InboundMail" ADD COLUMN "envelopeSender" VARCHAR(254),
ADD COLUMN "authStatus" "MailAuthStatus",
ADD COLUMN "authResults" TEXT;

-- AlterTable: the recipient's domain, kept by PostgreSQL, for counting acknowledgements per domain.
ALTER TABLE "OutboundMail" ADD COLUMN "recipientDomain" VARCHAR(254)
  GENERATED ALWAYS AS (lower(split_part(recipient, '@', 2))) STORED;

-- CreateIndex
CREATE INDEX "OutboundMail_recipient_createdAt_idx" ON "OutboundMail"("recipient", "createdAt");
CREATE INDEX "OutboundMail_recipientDomain_createdAt_idx" ON "OutboundMail"("recipientDomain", "createdAt");

-- An inbound message stays a record: the new columns cannot change with a staff decision either.
CREATE OR REPLACE FUNCTION "caseboard_inbound_mail_decision"() RETURNS trigger
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
         NEW."receivedAt", NEW."matchedTicketId", NEW."envelopeSender", NEW."authStatus", NEW."authResults")
        IS DISTINCT FROM
        (OLD."messageId", OLD."fromAddress", OLD."fromName", OLD."subject", OLD."body", OLD."reason",
         OLD."receivedAt", OLD."matchedTicketId", OLD."envelopeSender", OLD."authStatus", OLD."authResults") THEN
    RAISE EXCEPTION 'inbound mail is a record: only a quarantined message may be decided, once'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
