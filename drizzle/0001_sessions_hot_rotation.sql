ALTER TABLE "sessions" DROP CONSTRAINT "sessions_refresh_jti_unique";--> statement-breakpoint
DROP INDEX "sessions_expires_at_idx";--> statement-breakpoint
-- Room on each page for the rotated row version, so a rotation can stay a HOT update (no index writes).
ALTER TABLE "sessions" SET (fillfactor = 80);
