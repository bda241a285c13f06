ALTER TABLE "pending_signups" ADD COLUMN "mail_kind" text DEFAULT 'confirm' NOT NULL;--> statement-breakpoint
ALTER TABLE "pending_signups" ADD COLUMN "mailed_at" timestamp with time zone;--> statement-breakpoint
-- Signups made before this column existed had their email enqueued already: none is owed.
UPDATE "pending_signups" SET "mailed_at" = "created_at";
