-- One create as pgbench runs it: a ticket (500-byte description) and its history row (scripts/pgbench-search-vector/run.sh).
\set c random(1, 1000)
\set u random(1, 21)
BEGIN;
INSERT INTO "Ticket" (reference, title, description, channel, urgency, "customerId", "createdById", "teamId", status, "awaitingSince", "createdAt", "updatedAt")
VALUES (substr(md5(random()::text), 1, 16), 'Printer on floor 3 drops jobs after the update to 4.2.1',
 'Since the update of Outlook to 16.0.1 the printer drops every few minutes. The log shows error 0x80070005 right after Outlook starts. Two of their five machines are affected; all run Teams 1.6.3. They cannot send invoices until this works again, and month-end closing is due on Friday, so please treat it with priority. Reinstalling the client did not finish because of missing rights. Please call back in the morning; remote access is fine with them, they keep the machine on over lunch. ' || :c,
 'PHONE', 'NORMAL', :c, :u, 1, 'NEW', now(), now(), now());
INSERT INTO "TicketHistory" ("ticketId", "actorId", action, "newValue", "ticketVersion", "createdAt")
VALUES (currval('"Ticket_id_seq"'), :u, 'CREATED', '{"title":"Printer on floor 3 drops jobs","urgency":"NORMAL","status":"NEW"}', 1, now());
COMMIT;
