ALTER TABLE "digests" ADD COLUMN "paper_ids" bigint[] DEFAULT '{}'::bigint[] NOT NULL;--> statement-breakpoint
ALTER TABLE "digests" ADD COLUMN "matches" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
-- Existing digests keep their papers. matched_topics held the subscriber's labels; they
-- become topic ids through the subscriber's current topics (a label they no longer
-- follow cannot be resolved and is left out of the "because you follow" list).
UPDATE "digests" d SET "paper_ids" = x.paper_ids, "matches" = x.matches
FROM (
  SELECT dp.digest_id,
         array_agg(dp.paper_id ORDER BY dp.rank) AS paper_ids,
         jsonb_agg(jsonb_build_object(
           'score', dp.score,
           'topics', to_jsonb(ARRAY(
             SELECT st.topic_id FROM unnest(dp.matched_topics) WITH ORDINALITY AS m(label, o)
             JOIN subscriber_topics st ON st.subscriber_id = dg.subscriber_id AND st.label = m.label
             ORDER BY m.o)),
           'words', to_jsonb(dp.matched_words)) ORDER BY dp.rank) AS matches
  FROM digest_papers dp JOIN digests dg ON dg.id = dp.digest_id
  GROUP BY dp.digest_id
) x
WHERE d.id = x.digest_id;--> statement-breakpoint
DROP TABLE "digest_papers" CASCADE;--> statement-breakpoint
CREATE INDEX "digests_paper_ids_idx" ON "digests" USING gin ("paper_ids");
