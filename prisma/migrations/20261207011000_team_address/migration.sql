-- Routing by address: mail delivered to a team's address (the envelope's RCPT TO, e.g.
-- network@support.example) opens its tickets in that team; other mail goes to the default team.
ALTER TABLE "Team" ADD COLUMN "address" VARCHAR(254);
CREATE UNIQUE INDEX "Team_address_key" ON "Team"("address");
