DROP INDEX "papers_search_idx";--> statement-breakpoint
CREATE INDEX "papers_search_idx" ON "papers" USING gin ("search") WITH (fastupdate=false);