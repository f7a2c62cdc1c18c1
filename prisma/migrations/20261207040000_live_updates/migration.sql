-- Live updates on the ticket page (src/services/live/feed.ts). Every change of a ticket, whoever
-- writes it (web forms, inbound mail, a customer's reply, anything added later), is announced by
-- PostgreSQL itself on the channel caseboard_ticket, in the writing transaction: sent at its
-- commit, never for a rollback. The payload is tiny and carries no content: 't:<ticket id>:<version>'
-- for a change of the ticket, its work log or its history; 'p:<ticket id>' when who is viewing it,
-- or writing an entry on it, changed. (Identical notifications of one transaction are sent once:
-- a change's ticket row and its history rows make one.)
--
-- A new ticket's CREATED history row announces nothing: nobody has its page open yet, and a
-- notifying transaction takes a lock at commit that creations, the busiest writes, are spared.

-- The people who have a ticket's page open, one row per open page (an event stream, see
-- src/web/live.ts), and whether they are writing an entry on it. UNLOGGED: only the last minute
-- matters, so it is not worth a write to the WAL; PostgreSQL empties it after a crash, which is
-- right (nobody is viewing then). Rows whose instance died go stale by "seenAt" (refreshed every
-- 15 s while the page is open) and are swept.

-- CreateTable
CREATE UNLOGGED TABLE "TicketViewer" (
    "id" UUID NOT NULL,
    "ticketId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "typing" "WorkLogKind",
    "typingAt" TIMESTAMPTZ(3),
    "seenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TicketViewer_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TicketViewer_ticketId_idx" ON "TicketViewer"("ticketId");

-- AddForeignKey
ALTER TABLE "TicketViewer" ADD CONSTRAINT "TicketViewer_ticketId_fkey" FOREIGN KEY ("ticketId") REFERENCES "Ticket"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TicketViewer" ADD CONSTRAINT "TicketViewer_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A change of the ticket's own row (every tracked change bumps its version).
CREATE OR REPLACE FUNCTION "caseboard_notify_ticket"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('caseboard_ticket', 't:' || NEW."id" || ':' || NEW."version");
  RETURN NULL;
END $$;

CREATE TRIGGER "Ticket_notify_live"
  AFTER UPDATE ON "Ticket"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_notify_ticket"();

-- A history row: every change, entry, file, link and redaction writes one.
CREATE OR REPLACE FUNCTION "caseboard_notify_ticket_history"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('caseboard_ticket', 't:' || NEW."ticketId" || ':' || NEW."ticketVersion");
  RETURN NULL;
END $$;

CREATE TRIGGER "TicketHistory_notify_live"
  AFTER INSERT ON "TicketHistory"
  FOR EACH ROW WHEN (NEW."action" <> 'CREATED')
  EXECUTE FUNCTION "caseboard_notify_ticket_history"();

-- A work-log entry (its history row announces it too; this covers a writer that forgot one).
CREATE OR REPLACE FUNCTION "caseboard_notify_ticket_entry"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('caseboard_ticket', 't:' || NEW."ticketId" || ':' ||
    coalesce((SELECT t."version" FROM "Ticket" t WHERE t."id" = NEW."ticketId"), 0));
  RETURN NULL;
END $$;

CREATE TRIGGER "WorkLogEntry_notify_live"
  AFTER INSERT ON "WorkLogEntry"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_notify_ticket_entry"();

-- Someone opened or left a ticket's page, or started or stopped writing on it. The refresh of
-- "seenAt" alone (every 15 s per open page) announces nothing.
CREATE OR REPLACE FUNCTION "caseboard_notify_ticket_viewer"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('caseboard_ticket', 'p:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD."ticketId" ELSE NEW."ticketId" END));
  RETURN NULL;
END $$;

CREATE TRIGGER "TicketViewer_notify_live"
  AFTER INSERT OR DELETE OR UPDATE OF "typing", "typingAt" ON "TicketViewer"
  FOR EACH ROW EXECUTE FUNCTION "caseboard_notify_ticket_viewer"();
