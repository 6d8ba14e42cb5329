CREATE TABLE "audit_dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"set_aside_at" timestamp with time zone DEFAULT now() NOT NULL,
	"event_at" timestamp with time zone NOT NULL,
	"event_type" varchar(48) NOT NULL,
	"sqlstate" varchar(5) NOT NULL,
	"event" text NOT NULL
);
