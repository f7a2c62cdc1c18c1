-- The organization names the new-ticket and customer forms suggest are kept per process
-- (src/services/organizations/read-organizations.ts): dropped on every instance when an
-- organization is added, renamed or removed (see 20261208050000_cache_notices).
CREATE TRIGGER "Organization_notify_cache" AFTER INSERT OR DELETE OR UPDATE OF "name", "nameKey" ON "Organization"
  FOR EACH STATEMENT EXECUTE FUNCTION "caseboard_notify_cache"('organizations');
