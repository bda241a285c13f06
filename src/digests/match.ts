import { sql, type SQL } from "drizzle-orm";
import type { Queryable } from "../subscribers/topics.js";

/**
 * How a paper is scored for a subscriber (the README repeats this):
 *
 *   score = best ts_rank_cd(paper.search, topic) over the subscriber's matching topics
 *           × (1 + 0.1 × min(ln(1 + upvotes), 5))
 *
 * ts_rank_cd weighs a title hit (weight A, 1.0) five times an abstract hit
 * (weight C, 0.2). The upvote boost is at most ×1.5 (reached at ~147 upvotes),
 * so community interest reorders papers of similar relevance but never lifts a
 * passing mention in an abstract above a paper whose title is about the topic.
 * Ties: more upvotes first, then the newer paper (published, then first seen).
 */
export const UPVOTE_BOOST_PER_LN = 0.1;
export const UPVOTE_BOOST_MAX_LN = 5;

/** SQL for the boosted score of `rank` given `upvotes` (both SQL expressions). */
export function boostedScore(rank: SQL, upvotes: SQL): SQL {
  return sql`(${rank} * (1 + ${UPVOTE_BOOST_PER_LN}::real * least(ln(1 + greatest(${upvotes}, 0)), ${UPVOTE_BOOST_MAX_LN})))::real`;
}

/**
 * The paper's lexemes that occur in the topic, for highlighting "why": English stems
 * as the paper's search vector holds them (`diffus` for "diffusion"), so a renderer
 * highlights words that start with them. Cheap: the topic has a handful of lexemes
 * and each is a binary search in the paper's vector.
 */
export function matchedLexemes(search: SQL, topicQuery: SQL): SQL {
  return sql`array(select l from unnest(tsvector_to_array(to_tsvector('english', ${topicQuery}))) as l
                   where ${search} @@ ('''' || replace(replace(l, '\\', '\\\\'), '''', '''''') || '''')::tsquery)`;
}

export interface MatchResult {
  /** Digests that got at least one paper. */
  withPapers: number;
  /** Digests with no paper (status `empty`, or `queued` for subscribers who want them anyway). */
  empty: number;
  /** digest_papers rows written. */
  papers: number;
}

/**
 * Fills freshly created digests with their papers in a few set-based statements,
 * whatever their number: the distinct topics of these subscribers are matched
 * against the candidate papers once, then joined to the subscribers.
 *
 * Candidates of a digest: papers first seen in (covers_from, covers_to]; for a first
 * digest (covers_from null) the latest listing day seen by covers_to. A paper already
 * in any earlier digest of the subscriber is never picked again. Digests left without
 * papers become `empty` unless the subscriber asked for mail even then.
 *
 * Run it in the transaction that created the digests, so no digest is ever visible
 * as queued without its papers.
 */
export async function matchDigests(db: Queryable, digestIds: number[]): Promise<MatchResult> {
  if (digestIds.length === 0) return { withPapers: 0, empty: 0, papers: 0 };
  const ids = sql.param(digestIds);
  const { rows } = await db.execute<{ papers: number }>(sql`
    with d as materialized (
      select dg.id as digest_id, dg.subscriber_id, dg.covers_from, dg.covers_to, s.max_papers
      from digests dg join subscribers s on s.id = dg.subscriber_id
      where dg.id = any(${ids}::bigint[])
    ),
    bounds as materialized (
      select min(covers_from) as min_from, max(covers_to) as max_to, bool_or(covers_from is null) as has_first from d
    ),
    latest as materialized (
      select max(p.listing_day) as day from papers p, bounds b where b.has_first and p.first_seen_at <= b.max_to
    ),
    cand as (
      select p.id, p.search, p.upvotes, p.published_at, p.first_seen_at, p.listing_day
      from papers p, bounds b
      where p.first_seen_at <= b.max_to
        and (p.first_seen_at > b.min_from or p.listing_day = (select day from latest))
    ),
    chunk_topics as materialized (
      select distinct st.topic_id from subscriber_topics st join d on d.subscriber_id = st.subscriber_id
    ),
    -- Distinct topics × candidate papers, once.
    topic_hits as materialized (
      select t.id as topic_id, c.id as paper_id, c.upvotes, c.published_at, c.first_seen_at, c.listing_day,
             ts_rank_cd(c.search, q.q) as rank,
             array_to_string(${matchedLexemes(sql`c.search`, sql`t.query`)}, ' ') as words
      from chunk_topics ct
      join topics t on t.id = ct.topic_id
      cross join lateral websearch_to_tsquery('english', t.query) as q(q)
      join cand c on c.search @@ q.q
    ),
    sub_hits as (
      select d.digest_id, d.subscriber_id, d.max_papers, h.paper_id, h.upvotes, h.published_at, h.first_seen_at,
             h.rank, h.words, st.label
      from d
      join subscriber_topics st on st.subscriber_id = d.subscriber_id
      join topic_hits h on h.topic_id = st.topic_id
      where (case when d.covers_from is null
                  then h.listing_day = (select day from latest) and h.first_seen_at <= d.covers_to
                  else h.first_seen_at > d.covers_from and h.first_seen_at <= d.covers_to end)
    ),
    already_sent as materialized (
      select distinct d2.subscriber_id, dp.paper_id
      from digest_papers dp
      join digests d2 on d2.id = dp.digest_id
      where d2.subscriber_id in (select subscriber_id from d)
        and dp.paper_id in (select paper_id from topic_hits)
        and d2.id <> all(${ids}::bigint[])
    ),
    per_paper as (
      select sh.digest_id, sh.paper_id, min(sh.max_papers) as max_papers,
             ${boostedScore(sql`max(sh.rank)`, sql`min(sh.upvotes)`)} as score,
             min(sh.upvotes) as upvotes, max(sh.published_at) as published_at, max(sh.first_seen_at) as first_seen_at,
             array_agg(sh.label order by sh.rank desc, sh.label) as matched_topics,
             string_agg(sh.words, ' ') as words
      from sub_hits sh
      where not exists (select 1 from already_sent a where a.subscriber_id = sh.subscriber_id and a.paper_id = sh.paper_id)
      group by sh.digest_id, sh.paper_id
    ),
    ranked as (
      select pp.*, row_number() over (
               partition by pp.digest_id
               order by pp.score desc, pp.upvotes desc, pp.published_at desc nulls last, pp.first_seen_at desc, pp.paper_id desc
             ) as rank
      from per_paper pp
    ),
    inserted as (
      insert into digest_papers (digest_id, paper_id, rank, score, matched_topics, matched_words)
      select r.digest_id, r.paper_id, r.rank, r.score, r.matched_topics,
             coalesce(array(select distinct w from unnest(string_to_array(r.words, ' ')) as w where w <> '' order by w), '{}')
      from ranked r
      where r.rank <= r.max_papers
      returning digest_id
    ),
    counts as (
      select digest_id, count(*)::int as n from inserted group by digest_id
    ),
    updated as (
      update digests dg
      set paper_count = coalesce(c.n, 0),
          status = case when coalesce(c.n, 0) = 0 and not s.send_when_empty then 'empty'::digest_status else dg.status end,
          updated_at = now()
      from d
      join subscribers s on s.id = d.subscriber_id
      left join counts c on c.digest_id = d.digest_id
      where dg.id = d.digest_id
      returning dg.id, dg.paper_count
    )
    select count(*) filter (where paper_count > 0)::int as with_papers,
           count(*) filter (where paper_count = 0)::int as empty,
           coalesce(sum(paper_count), 0)::int as papers
    from updated
  `);
  const row = rows[0] as unknown as { with_papers: number; empty: number; papers: number } | undefined;
  return { withPapers: row?.with_papers ?? 0, empty: row?.empty ?? 0, papers: row?.papers ?? 0 };
}
