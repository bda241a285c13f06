CREATE TABLE "votes" (
	"subscriber_id" bigint NOT NULL,
	"paper_id" bigint NOT NULL,
	"vote" smallint NOT NULL,
	"voted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "votes_subscriber_id_paper_id_pk" PRIMARY KEY("subscriber_id","paper_id"),
	CONSTRAINT "votes_vote_check" CHECK ("votes"."vote" in (-1, 1))
);
--> statement-breakpoint
ALTER TABLE "votes" ADD CONSTRAINT "votes_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "votes" ADD CONSTRAINT "votes_paper_id_papers_id_fk" FOREIGN KEY ("paper_id") REFERENCES "public"."papers"("id") ON DELETE cascade ON UPDATE no action;