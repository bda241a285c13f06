import { sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { assertTopicsSearchable, normalizeTopic, topicLabel } from "../subscribers/topics.js";
import { boostedScore, matchedLexemes } from "./match.js";

export interface PreviewPaper {
  arxivId: string;
  title: string;
  url: string;
  upvotes: number;
  score: number;
  /** The previewed topics (as typed) that matched, best first. */
  matchedTopics: string[];
  /** Matched lexemes (English stems), as stored with a digest's matches. */
  matchedWords: string[];
}

export interface Preview {
  /** The listing day previewed (the latest one when none was asked for); null when there are no papers yet. */
  day: string | null;
  /** How many papers of that day the topics match. */
  count: number;
  /** The best of them, scored and ordered exactly as a digest would be. */
  papers: PreviewPaper[];
}

/**
 * What `labels` would have matched among the papers of one listing day, with the
 * digest's scoring (see match.ts). No subscriber and no history: it answers "what
 * would these topics bring me", so nothing is excluded as already sent.
 * Throws VALIDATION (field `topics.i`) for a topic with no searchable words.
 */
export async function previewTopics(
  db: Queryable,
  labels: string[],
  opts: { day?: string | undefined; limit?: number } = {},
): Promise<Preview> {
  await assertTopicsSearchable(db, labels);
  const byQuery = new Map<string, string>();
  for (const l of labels) if (!byQuery.has(normalizeTopic(l))) byQuery.set(normalizeTopic(l), topicLabel(l));
  const queries = [...byQuery.keys()];
  const shown = [...byQuery.values()];
  const limit = opts.limit ?? 10;
  const day = opts.day
    ? sql`${opts.day}::date`
    : sql`(select max(listing_day) from papers)`;
  const { rows } = await db.execute<{
    day: string | null;
    total: number | null;
    arxiv_id: string | null;
    title: string | null;
    arxiv_url: string | null;
    upvotes: number | null;
    score: number | null;
    matched_topics: string[] | null;
    matched_words: string[] | null;
  }>(sql`
    with the_day as (select ${day} as day),
    t as (
      select q.query, q.label, websearch_to_tsquery('english', q.query) as tsq
      from unnest(${sql.param(queries)}::text[], ${sql.param(shown)}::text[]) as q(query, label)
    ),
    hits as (
      select p.id, p.arxiv_id, p.title, p.arxiv_url, p.upvotes, p.published_at, p.first_seen_at, t.label,
             ts_rank_cd(p.search, t.tsq) as rank, ${matchedLexemes(sql`p.search`, sql`t.query`)} as words
      from t join papers p on p.search @@ t.tsq
      where p.listing_day = (select day from the_day)
    ),
    per_paper as (
      select id, min(arxiv_id) as arxiv_id, min(title) as title, min(arxiv_url) as arxiv_url, min(upvotes) as upvotes,
             max(published_at) as published_at, max(first_seen_at) as first_seen_at,
             ${boostedScore(sql`max(rank)`, sql`min(upvotes)`)} as score,
             array_agg(label order by rank desc, label) as matched_topics,
             array(select distinct w from unnest(string_to_array(string_agg(array_to_string(words, ' '), ' '), ' ')) as w
                   where w <> '' order by w) as matched_words
      from hits group by id
    ),
    ranked as (
      select *, count(*) over () as total,
             row_number() over (order by score desc, upvotes desc, published_at desc nulls last, first_seen_at desc, id desc) as n
      from per_paper
    )
    select to_char((select day from the_day), 'YYYY-MM-DD') as day, r.total::int as total, r.arxiv_id, r.title, r.arxiv_url,
           r.upvotes, r.score, r.matched_topics, r.matched_words
    from (select 1) one
    left join ranked r on r.n <= ${limit}
    order by r.n
  `);
  const papers: PreviewPaper[] = [];
  for (const r of rows) {
    if (r.arxiv_id === null) continue;
    papers.push({
      arxivId: r.arxiv_id,
      title: r.title ?? "",
      url: r.arxiv_url ?? "",
      upvotes: Number(r.upvotes ?? 0),
      score: Number(r.score ?? 0),
      matchedTopics: r.matched_topics ?? [],
      matchedWords: r.matched_words ?? [],
    });
  }
  return { day: rows[0]?.day ?? null, count: Number(rows[0]?.total ?? 0), papers };
}

export interface SearchHit {
  id: number;
  /** The digest score (see match.ts). */
  score: number;
  /** Matched lexemes (English stems), for highlighting. */
  words: string[];
}

/**
 * Papers matching one topic (the digest's matcher: websearch syntax, English stems,
 * boosted ts_rank_cd), optionally within listing days from..to. `order` "relevance"
 * ranks as a digest does; "newest" puts later listing days first (feeds).
 * Throws VALIDATION (field `q`) for a query with no searchable words.
 */
export async function searchPapers(
  db: Queryable,
  query: string,
  opts: { from?: string | null; to?: string | null; limit?: number; order?: "relevance" | "newest" } = {},
): Promise<SearchHit[]> {
  await assertTopicsSearchable(db, [query], "q");
  const q = normalizeTopic(query);
  const from = opts.from ? sql`${opts.from}::date` : sql`null::date`;
  const to = opts.to ? sql`${opts.to}::date` : sql`null::date`;
  const order =
    opts.order === "newest"
      ? sql`listing_day desc, score desc, upvotes desc, id desc`
      : sql`score desc, upvotes desc, published_at desc nulls last, id desc`;
  const { rows } = await db.execute<{ id: number; score: number; words: string[] }>(sql`
    with t as (select websearch_to_tsquery('english', ${q}) as tsq)
    select id, score, words from (
      select p.id, p.listing_day, p.upvotes, p.published_at,
             ${boostedScore(sql`ts_rank_cd(p.search, t.tsq)`, sql`p.upvotes`)} as score,
             ${matchedLexemes(sql`p.search`, sql`${q}`)} as words
      from t join papers p on p.search @@ t.tsq
      where (${from} is null or p.listing_day >= ${from}) and (${to} is null or p.listing_day <= ${to})
    ) h
    order by ${order}
    limit ${opts.limit ?? 50}`);
  return rows.map((r) => ({ id: Number(r.id), score: Number(r.score), words: r.words }));
}
