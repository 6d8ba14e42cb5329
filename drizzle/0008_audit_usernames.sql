ALTER TABLE "audit_events" ADD COLUMN "username" varchar(150);--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "actor_username" varchar(150);