-- Caches kept per process, dropped on every instance when what they copy changes (issue 14, many
-- instances; src/services/cache-notices.ts). PostgreSQL itself announces the change on the
-- channel caseboard_cache, from the writing transaction: sent at its commit, never for a
-- rollback, whoever writes (a service on any instance, a job, a script, SQL by hand). Every
-- instance LISTENs on the live feed's one connection (src/services/live/feed.ts) and drops the
-- named cache. Payloads are cache names ('teams', 'staff', 'sla', 'rules', 'macros', 'runbooks',
-- 'webhooks', 'saved-views', 'sessions') or 'user:<id>' (that user's kept sessions); identical
-- notifications of one transaction are sent once. No content, no secret.
--
-- Statement-level (one notice per statement, not per row) wherever the cache is dropped whole.
-- Ticket changes need nothing new: the queue counts listen to caseboard_ticket (the live updates'
-- triggers); a new ticket still announces nothing (see 20261207040000_live_updates).

CREATE OR REPLACE FUNCTION "caseboard_notify_cache"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY TG_ARGV LOOP
    PERFORM pg_notify('caseboard_cache', name);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER "Team_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "Team"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('teams');
CREATE TRIGGER "TeamMember_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "TeamMember"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('teams', 'staff');
CREATE TRIGGER "User_insert_notify_cache" AFTER INSERT ON "User"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('teams', 'staff');
-- Only what the lists show: a user's name, address, role, kind or whether they are active.
CREATE TRIGGER "User_update_notify_cache" AFTER UPDATE ON "User"
  FOR EACH ROW WHEN (
    OLD."name" IS DISTINCT FROM NEW."name" OR OLD."email" IS DISTINCT FROM NEW."email"
    OR OLD."role" IS DISTINCT FROM NEW."role" OR OLD."kind" IS DISTINCT FROM NEW."kind"
    OR OLD."active" IS DISTINCT FROM NEW."active")
  EXECUTE FUNCTION "caseboard_notify_cache"('teams', 'staff');

-- A user's kept sessions (src/db/session-cache.ts) hold their row as it was: any change of what a
-- session carries drops them on every instance.
CREATE OR REPLACE FUNCTION "caseboard_notify_user_sessions"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('caseboard_cache', 'user:' || NEW."id");
  RETURN NULL;
END $$;

CREATE TRIGGER "User_notify_sessions" AFTER UPDATE ON "User"
  FOR EACH ROW WHEN (
    OLD."securityStamp" IS DISTINCT FROM NEW."securityStamp" OR OLD."active" IS DISTINCT FROM NEW."active"
    OR OLD."role" IS DISTINCT FROM NEW."role" OR OLD."name" IS DISTINCT FROM NEW."name"
    OR OLD."email" IS DISTINCT FROM NEW."email" OR OLD."timeZone" IS DISTINCT FROM NEW."timeZone"
    OR OLD."theme" IS DISTINCT FROM NEW."theme")
  EXECUTE FUNCTION "caseboard_notify_user_sessions"();

-- A session ended (signed out, ended by an admin, expired and pruned): every instance forgets the
-- sessions it keeps (at most a second's worth; they are read again). Only when rows went.
CREATE OR REPLACE FUNCTION "caseboard_notify_sessions_gone"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM gone) THEN
    PERFORM pg_notify('caseboard_cache', 'sessions');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "session_notify_cache" AFTER DELETE ON "session"
  REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_sessions_gone"();

CREATE TRIGGER "BusinessCalendar_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "BusinessCalendar"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('sla');
CREATE TRIGGER "CalendarHoliday_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "CalendarHoliday"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('sla');
CREATE TRIGGER "SlaPolicy_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "SlaPolicy"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('sla');
CREATE TRIGGER "SlaTarget_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "SlaTarget"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('sla');
CREATE TRIGGER "AutomationRule_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "AutomationRule"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('rules');
CREATE TRIGGER "Macro_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "Macro"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('macros');
CREATE TRIGGER "CannedReply_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "CannedReply"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('macros');
CREATE TRIGGER "Runbook_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "Runbook"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('runbooks');
CREATE TRIGGER "WebhookEndpoint_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "WebhookEndpoint"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('webhooks');
CREATE TRIGGER "SavedView_notify_cache" AFTER INSERT OR UPDATE OR DELETE ON "SavedView"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('saved-views');
