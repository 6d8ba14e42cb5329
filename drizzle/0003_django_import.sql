DROP INDEX "users_email_lower_unique";--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_shared" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "users_email_lower_idx" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_lower_unique" ON "users" USING btree (lower("email")) WHERE "users"."email" <> '' and not "users"."email_shared";