-- Service accounts: users that are programs (an API service token's, an error-reporting project's).
-- They never sign in, are in no team (so never own tickets), and history names them like anyone.
CREATE TYPE "UserKind" AS ENUM ('PERSON', 'SERVICE');
ALTER TABLE "User" ADD COLUMN "kind" "UserKind" NOT NULL DEFAULT 'PERSON';
