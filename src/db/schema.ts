import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  boolean,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

const id = () => bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity();
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const createdAt = () => ts("created_at").notNull().defaultNow();

export const subscriberStatus = pgEnum("subscriber_status", [
  "pending",
  "active",
  "unsubscribed",
  "bounced",
  "complained",
]);
export const frequency = pgEnum("frequency", ["daily", "weekly"]);
export const digestStatus = pgEnum("digest_status", [
  "queued",
  "sending",
  "sent",
  "failed",
  "bounced",
  "empty",
  "skipped",
]);
export const emailEventType = pgEnum("email_event_type", ["bounce", "complaint", "unsubscribe"]);
export const ingestStatus = pgEnum("ingest_status", ["running", "succeeded", "failed"]);

export const subscribers = pgTable(
  "subscribers",
  {
    id: id(),
    /** Null once the subscriber asked for erasure; the row stays for anonymous counts. */
    email: text("email"),
    status: subscriberStatus("status").notNull().default("pending"),
    timezone: text("timezone").notNull().default("UTC"),
    sendHour: smallint("send_hour").notNull().default(8),
    frequency: frequency("frequency").notNull().default("daily"),
    /** ISO weekday, 1 = Monday … 7 = Sunday; used when frequency is weekly. */
    weekday: smallint("weekday").notNull().default(1),
    maxPapers: smallint("max_papers").notNull().default(10),
    sendWhenEmpty: boolean("send_when_empty").notNull().default(false),
    /** With topics: also add the top TRENDING_EXTRA trending papers to each digest. (No topics: the digest is all trending.) */
    addTrending: boolean("add_trending").notNull().default(false),
    pausedAt: ts("paused_at"),
    /** Bumping it revokes every link ever emailed to this subscriber. */
    tokenVersion: integer("token_version").notNull().default(1),
    /**
     * Counts signups for this address. A confirmation link names the signup it confirms
     * (its `pending_signups.version`), so confirming applies what that signup asked for.
     */
    signupVersion: integer("signup_version").notNull().default(1),
    /** Version of the personal Atom feed link alone: bumping it revokes that link and nothing else. */
    feedVersion: integer("feed_version").notNull().default(1),
    consentAt: ts("consent_at"),
    consentIp: text("consent_ip"),
    consentUserAgent: text("consent_user_agent"),
    /** How consent was obtained when it was not our signup form (e.g. an import: "paper sign-up sheet, 2026-10"). */
    consentNote: text("consent_note"),
    confirmedAt: ts("confirmed_at"),
    confirmIp: text("confirm_ip"),
    unsubscribedAt: ts("unsubscribed_at"),
    erasedAt: ts("erased_at"),
    bounceCount: integer("bounce_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("subscribers_email_lower_idx").on(sql`lower(${t.email})`),
    index("subscribers_status_idx").on(t.status, t.id),
  ],
);

/**
 * What a signup asked for, held until its confirmation link is clicked: a signup for an
 * address that already exists must not change that subscriber's topics, schedule or
 * consent record before the address's owner confirms. Confirming applies the row and
 * removes every pending signup of the subscriber; unsubscribing or erasure removes them too.
 */
export const pendingSignups = pgTable(
  "pending_signups",
  {
    subscriberId: bigint("subscriber_id", { mode: "number" })
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    /** The subscriber's signup_version when this signup was made; the confirm token carries it. */
    version: integer("version").notNull(),
    /** Topics as typed (validated; none = the trending digest); normalised into topics when confirmed. */
    topics: text("topics").array().notNull(),
    timezone: text("timezone").notNull(),
    sendHour: smallint("send_hour").notNull(),
    frequency: frequency("frequency").notNull(),
    weekday: smallint("weekday").notNull(),
    maxPapers: smallint("max_papers").notNull(),
    sendWhenEmpty: boolean("send_when_empty").notNull(),
    addTrending: boolean("add_trending").notNull(),
    consentAt: ts("consent_at").notNull(),
    consentIp: text("consent_ip"),
    consentUserAgent: text("consent_user_agent"),
    /** Which email confirms it: the form's confirmation, or an import's (which names its topics). */
    mailKind: text("mail_kind", { enum: ["confirm", "import-confirm"] }).notNull().default("confirm"),
    /**
     * When its confirmation email was sent (or given up: a 5xx, the hourly cap). While
     * null the email is owed, and the hourly plan enqueues it again if Redis lost its job.
     */
    mailedAt: ts("mailed_at"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.subscriberId, t.version] }), index("pending_signups_created_idx").on(t.createdAt)],
);

export const topics = pgTable("topics", {
  id: id(),
  /** Normalized query (trimmed, single spaces, lower case): stored once however many follow it. */
  query: text("query").notNull().unique(),
  createdAt: createdAt(),
});

export const subscriberTopics = pgTable(
  "subscriber_topics",
  {
    subscriberId: bigint("subscriber_id", { mode: "number" })
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    topicId: bigint("topic_id", { mode: "number" })
      .notNull()
      .references(() => topics.id, { onDelete: "restrict" }),
    /** What the subscriber typed, for display; matching uses the normalized topic. */
    label: text("label").notNull(),
    /** Where the subscriber put it in their list (0 first): pages and exports keep their order. */
    position: smallint("position").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.subscriberId, t.topicId] }), index("subscriber_topics_topic_idx").on(t.topicId)],
);

export const papers = pgTable(
  "papers",
  {
    id: id(),
    /** arXiv id without version, e.g. 2510.99901. */
    arxivId: text("arxiv_id").notNull().unique(),
    title: text("title").notNull(),
    abstract: text("abstract").notNull(),
    authors: text("authors").array().notNull().default(sql`'{}'::text[]`),
    publishedAt: ts("published_at"),
    /** The listing day the paper belongs to (HF daily list or arXiv announcement day). */
    listingDay: date("listing_day", { mode: "string" }).notNull(),
    upvotes: integer("upvotes").notNull().default(0),
    arxivUrl: text("arxiv_url").notNull(),
    pdfUrl: text("pdf_url").notNull(),
    hfUrl: text("hf_url"),
    githubRepo: text("github_repo"),
    projectPage: text("project_page"),
    aiSummary: text("ai_summary"),
    aiKeywords: text("ai_keywords").array().notNull().default(sql`'{}'::text[]`),
    categories: text("categories").array().notNull().default(sql`'{}'::text[]`),
    sources: text("sources").array().notNull().default(sql`'{}'::text[]`),
    /** First time any ingest saw it: a digest covers papers first seen since the previous one. */
    firstSeenAt: ts("first_seen_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(ai_keywords_text(ai_keywords), '')), 'B') || setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')`,
      ),
  },
  (t) => [
    // No pending list: matching probes this index once per topic, and a pending list of
    // freshly ingested papers would be scanned in full by every probe.
    index("papers_search_idx").using("gin", t.search).with({ fastupdate: false }),
    index("papers_first_seen_idx").on(t.firstSeenAt, t.id),
    index("papers_listing_day_idx").on(t.listingDay),
  ],
);

/**
 * Why a paper is in a digest. Topics are topic ids (best match first); the subscriber's
 * own spelling of each comes from subscriber_topics when the digest is read, so many
 * subscribers with the same topics share one computed match list.
 */
export interface DigestMatch {
  /** Boosted score (see digests/match.ts); for a trending pick, its upvotes. */
  score: number;
  topics: number[];
  /** The paper's lexemes that matched (English stems), for highlighting. */
  words: string[];
  /** Present when the paper is there because it is trending: its upvotes when the digest was planned. */
  trending?: number;
  /** Present when the subscriber's votes changed the score: the factor it was multiplied by (digests/feedback.ts). */
  feedback?: number;
}

export const digests = pgTable(
  "digests",
  {
    id: id(),
    subscriberId: bigint("subscriber_id", { mode: "number" })
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    /** Local date that starts the period (the day, or the weekday of the week) in the subscriber's zone. */
    period: date("period", { mode: "string" }).notNull(),
    status: digestStatus("status").notNull().default("queued"),
    /** Papers first seen in (coversFrom, coversTo] belong to this digest. */
    coversFrom: ts("covers_from"),
    coversTo: ts("covers_to").notNull(),
    paperCount: integer("paper_count").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    messageId: text("message_id"),
    claimedAt: ts("claimed_at"),
    sentAt: ts("sent_at"),
    error: text("error"),
    /**
     * The digest's papers, best first. Stored on the digest rather than one row per paper:
     * a digest's contents are written once, by the planner, and always read whole, and a
     * plan run writes 100k digests, not 100k × N rows with N foreign-key checks. The GIN
     * index answers "was this paper already sent to this subscriber?".
     */
    paperIds: bigint("paper_ids", { mode: "number" }).array().notNull().default(sql`'{}'::bigint[]`),
    /** Per paper, in paperIds' order: why it was picked (see DigestMatch). */
    matches: jsonb("matches").$type<DigestMatch[]>().notNull().default(sql`'[]'::jsonb`),
    createdAt: createdAt(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("digests_subscriber_period_idx").on(t.subscriberId, t.period),
    index("digests_status_idx").on(t.status, t.id),
    index("digests_paper_ids_idx").using("gin", t.paperIds),
  ],
);

export const emailEvents = pgTable(
  "email_events",
  {
    id: id(),
    subscriberId: bigint("subscriber_id", { mode: "number" }).references(() => subscribers.id, {
      onDelete: "set null",
    }),
    digestId: bigint("digest_id", { mode: "number" }).references(() => digests.id, { onDelete: "set null" }),
    type: emailEventType("type").notNull(),
    permanent: boolean("permanent").notNull().default(true),
    /** Where we learned of it: smtp, webhook, one-click, link, admin. */
    source: text("source").notNull(),
    detail: text("detail"),
    createdAt: createdAt(),
  },
  (t) => [index("email_events_subscriber_idx").on(t.subscriberId)],
);

export const ingestRuns = pgTable(
  "ingest_runs",
  {
    id: id(),
    source: text("source").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    status: ingestStatus("status").notNull().default("running"),
    fetched: integer("fetched").notNull().default(0),
    inserted: integer("inserted").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    error: text("error"),
    startedAt: ts("started_at").notNull().defaultNow(),
    finishedAt: ts("finished_at"),
    durationMs: integer("duration_ms"),
  },
  (t) => [index("ingest_runs_started_idx").on(t.startedAt)],
);

/**
 * A subscriber's "more like this" (+1) / "less like this" (−1) on a paper, from the
 * links in their digests. One per subscriber and paper: the last vote wins, undo
 * deletes it. Personal data: in the export, deleted on erasure. The match reads a
 * subscriber's votes to re-rank their next digest (digests/feedback.ts).
 */
export const votes = pgTable(
  "votes",
  {
    subscriberId: bigint("subscriber_id", { mode: "number" })
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    paperId: bigint("paper_id", { mode: "number" })
      .notNull()
      .references(() => papers.id, { onDelete: "cascade" }),
    vote: smallint("vote").notNull(),
    /** When the current vote was cast (a changed vote counts from its change: profiles decay with age). */
    votedAt: ts("voted_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subscriberId, t.paperId] }), check("votes_vote_check", sql`${t.vote} in (-1, 1)`)],
);
