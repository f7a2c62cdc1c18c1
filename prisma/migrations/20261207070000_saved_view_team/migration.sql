-- A saved view can be shared with one team: its members see it (besides private and shared with everyone).
ALTER TABLE "SavedView" ADD COLUMN "teamId" INTEGER;
ALTER TABLE "SavedView" ADD CONSTRAINT "SavedView_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE INDEX "SavedView_teamId_idx" ON "SavedView"("teamId");
