-- A user's own settings (the profile page): the time zone every time on the staff pages is shown
-- in (an IANA name; UTC until they choose), and the colour theme (follow the system's light or
-- dark setting, or always light, or always dark).
-- And a ticket's internal resolution note: written beside the resolution note that is mailed to
-- the customer, for staff only (never in a mail, never on a customer-facing page).

-- CreateEnum
CREATE TYPE "Theme" AS ENUM ('SYSTEM', 'LIGHT', 'DARK');

-- AlterTable
ALTER TABLE "User" ADD COLUMN "timeZone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
ADD COLUMN "theme" "Theme" NOT NULL DEFAULT 'SYSTEM';

-- AlterTable
ALTER TABLE "Ticket" ADD COLUMN "internalResolutionNote" TEXT;
