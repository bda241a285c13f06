import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { Db } from "../../src/db/client.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

/** The file's own database, emptied of subscribers, topics, papers and digests before each test. */
export function matchDatabase(): { readonly db: Db } {
  let tdb: TestDatabase | undefined;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb?.close();
  });
  const handle = {
    get db(): Db {
      if (!tdb) throw new Error("matchDatabase(): the database is created in beforeAll");
      return tdb.db;
    },
  };
  beforeEach(async () => {
    await handle.db.execute(sql`truncate digests, subscriber_topics, topics, subscribers, papers restart identity cascade`);
  });
  return handle;
}

let seq = 0;

export interface SubscriberFixture {
  topics: string[];
  timezone?: string;
  sendHour?: number;
  frequency?: "daily" | "weekly";
  weekday?: number;
  maxPapers?: number;
  sendWhenEmpty?: boolean;
  status?: "pending" | "active" | "unsubscribed";
  paused?: boolean;
  /** With topics: also the top trending papers. */
  addTrending?: boolean;
}

/** An active subscriber with topics, inserted directly (signup is another module's business). */
export async function addSubscriber(db: Db, f: SubscriberFixture): Promise<number> {
  seq++;
  const { rows } = await db.execute<{ id: number }>(sql`
    insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, paused_at, confirmed_at, add_trending)
    values (${`reader${seq}-${Date.now()}@example.org`}, ${f.status ?? "active"}, ${f.timezone ?? "UTC"}, ${f.sendHour ?? 8},
            ${f.frequency ?? "daily"}, ${f.weekday ?? 1}, ${f.maxPapers ?? 10}, ${f.sendWhenEmpty ?? false},
            ${f.paused ? sql`now()` : sql`null`}, now(), ${f.addTrending ?? false})
    returning id`);
  const id = Number(rows[0]!.id);
  await setSubscriberTopics(db, id, f.topics);
  return id;
}

export interface PaperFixture {
  title: string;
  abstract?: string;
  keywords?: string[];
  upvotes?: number;
  listingDay: string;
  firstSeenAt: string;
  publishedAt?: string;
}

export async function addPaper(db: Db, p: PaperFixture): Promise<number> {
  seq++;
  const arxiv = `2511.${String(10000 + seq).padStart(5, "0")}`;
  const { rows } = await db.execute<{ id: number }>(sql`
    insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, ai_keywords, upvotes, first_seen_at, published_at)
    values (${arxiv}, ${p.title}, ${p.abstract ?? ""}, ${p.listingDay}, ${`https://arxiv.org/abs/${arxiv}`},
            ${`https://arxiv.org/pdf/${arxiv}`}, ${sql.param(p.keywords ?? [])}::text[], ${p.upvotes ?? 0},
            ${p.firstSeenAt}::timestamptz, ${p.publishedAt ?? p.firstSeenAt}::timestamptz)
    returning id`);
  return Number(rows[0]!.id);
}

export type DigestRow = {
  id: number;
  subscriber_id: number;
  period: string;
  status: string;
  paper_count: number;
  /** ISO instants, UTC. */
  covers_from: string | null;
  covers_to: string;
};

const iso = (col: ReturnType<typeof sql>) => sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

export async function digestsOf(db: Db, subscriberId: number): Promise<DigestRow[]> {
  const { rows } = await db.execute<DigestRow>(
    sql`select id, subscriber_id, to_char(period, 'YYYY-MM-DD') as period, status, paper_count,
               ${iso(sql`covers_from`)} as covers_from, ${iso(sql`covers_to`)} as covers_to
        from digests where subscriber_id = ${subscriberId} order by period`,
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), subscriber_id: Number(r.subscriber_id) }));
}

export type DigestPaperRow = {
  title: string;
  rank: number;
  score: number;
  matched_topics: string[];
  matched_words: string[];
  /** Upvotes when planned, for a trending pick; null for a topic match. */
  trending: number | null;
};

export async function digestPapersOf(db: Db, digestId: number): Promise<DigestPaperRow[]> {
  const { rows } = await db.execute<DigestPaperRow>(
    sql`select p.title, e.rank::int as rank, (e.m ->> 'score')::real as score,
               array(select coalesce(st.label, t.query)
                     from jsonb_array_elements_text(e.m -> 'topics') with ordinality as mt(topic_id, o)
                     join topics t on t.id = mt.topic_id::bigint
                     left join subscriber_topics st on st.subscriber_id = d.subscriber_id and st.topic_id = t.id
                     order by mt.o) as matched_topics,
               array(select jsonb_array_elements_text(e.m -> 'words')) as matched_words,
               (e.m ->> 'trending')::int as trending
        from digests d
        cross join lateral rows from (unnest(d.paper_ids), jsonb_array_elements(d.matches)) with ordinality as e(paper_id, m, rank)
        join papers p on p.id = e.paper_id
        where d.id = ${digestId} order by e.rank`,
  );
  return rows;
}
