-- When a private access link was first opened: proof that the customer reads the mailbox the
-- ticket was opened for. A ticket reported through the public web form (by anyone who typed that
-- address) shows on /status by reference and email only after that.

-- AlterTable
ALTER TABLE "TicketAccessToken" ADD COLUMN "usedAt" TIMESTAMPTZ(3);
