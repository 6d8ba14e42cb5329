ALTER TABLE "user_mfa" ADD COLUMN "failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "user_mfa" ADD COLUMN "failures_since" timestamp with time zone;