-- A user's security stamp: a random value that changes whenever their existing sign-ins must stop
-- counting (deactivation, password reset). Each session keeps the stamp it was signed in with and
-- is accepted only while it still matches the user's row, so a sign-in that was in flight when an
-- admin acted (read the user, spent a second hashing, then wrote its session) cannot outlive the
-- change, however the two interleave.

-- AlterTable
ALTER TABLE "User" ADD COLUMN "securityStamp" UUID NOT NULL DEFAULT gen_random_uuid();
