-- The whole of every inbound message is kept: "originalText" is its text as decoded, before
-- quoted earlier messages were cut ("body" is what the work log shows), so that staff can always
-- read the whole message. "workLogEntryId" is the entry the message became (null: a new
-- ticket's report, or not on a ticket), for the ticket page's "show the whole message" link.
-- Messages received before this migration have no original (null).

-- AlterTable
ALTER TABLE "InboundMail" ADD COLUMN "originalText" TEXT,
ADD COLUMN "workLogEntryId" INTEGER;

-- AddForeignKey
ALTER TABLE "InboundMail" ADD CONSTRAINT "InboundMail_workLogEntryId_fkey" FOREIGN KEY ("workLogEntryId") REFERENCES "WorkLogEntry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- An inbound message stays a record: its original cannot change with a staff decision either
-- (the decision sets the state, the ticket and the entry it became, who and when).
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
         NEW."receivedAt", NEW."matchedTicketId", NEW."envelopeSender", NEW."authStatus", NEW."authResults",
         NEW."originalText")
        IS DISTINCT FROM
        (OLD."messageId", OLD."fromAddress", OLD."fromName", OLD."subject", OLD."body", OLD."reason",
         OLD."receivedAt", OLD."matchedTicketId", OLD."envelopeSender", OLD."authStatus", OLD."authResults",
         OLD."originalText") THEN
    RAISE EXCEPTION 'inbound mail is a record: only a quarantined message may be decided, once'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

-- A message's files are written with the entry it becomes, before the message's own record (which
-- names that entry): the reference to the message is checked at commit.
ALTER TABLE "Attachment" ALTER CONSTRAINT "Attachment_inboundMailId_fkey" DEFERRABLE INITIALLY DEFERRED;
