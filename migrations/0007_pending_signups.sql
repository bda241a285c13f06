CREATE TABLE "pending_signups" (
	"subscriber_id" bigint NOT NULL,
	"version" integer NOT NULL,
	"topics" text[] NOT NULL,
	"timezone" text NOT NULL,
	"send_hour" smallint NOT NULL,
	"frequency" "frequency" NOT NULL,
	"weekday" smallint NOT NULL,
	"max_papers" smallint NOT NULL,
	"send_when_empty" boolean NOT NULL,
	"add_trending" boolean NOT NULL,
	"consent_at" timestamp with time zone NOT NULL,
	"consent_ip" text,
	"consent_user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pending_signups_subscriber_id_version_pk" PRIMARY KEY("subscriber_id","version")
);
--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "signup_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "pending_signups" ADD CONSTRAINT "pending_signups_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pending_signups_created_idx" ON "pending_signups" USING btree ("created_at");--> statement-breakpoint
-- Confirmation links already emailed carry token_version as their version: the signup
-- counter starts there, and each pending subscriber's current choices become the
-- pending signup those links confirm.
UPDATE "subscribers" SET "signup_version" = "token_version";--> statement-breakpoint
INSERT INTO "pending_signups" ("subscriber_id", "version", "topics", "timezone", "send_hour", "frequency", "weekday", "max_papers", "send_when_empty", "add_trending", "consent_at", "consent_ip", "consent_user_agent")
SELECT s."id", s."token_version",
       ARRAY(SELECT st."label" FROM "subscriber_topics" st WHERE st."subscriber_id" = s."id" ORDER BY st."position", st."created_at", st."topic_id"),
       s."timezone", s."send_hour", s."frequency", s."weekday", s."max_papers", s."send_when_empty", s."add_trending",
       coalesce(s."consent_at", s."created_at"), s."consent_ip", s."consent_user_agent"
FROM "subscribers" s
WHERE s."status" = 'pending' AND s."email" IS NOT NULL;
