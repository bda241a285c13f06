ALTER TABLE "subscribers" ADD COLUMN "add_trending" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "feed_version" integer DEFAULT 1 NOT NULL;