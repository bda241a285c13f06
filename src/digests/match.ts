import { sql, type SQL } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { trendingPicks, type TrendingCandidates } from "./trending.js";

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
 *
 * A subscriber with votes ranks by that score × their feedback factor (feedback.ts).
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

/** What the digests can cover, together: plain values so the match can use the paper indexes. */
export interface CandidateWindow {
  /** Earliest covers_from among digests that have one (ISO), or null. */
  minFrom: string | null;
  /** Latest covers_to (ISO). */
  maxTo: string;
  /** Latest listing day seen by maxTo, when some digest is a first digest; else null. */
  latestDay: string | null;
}

/** Topic × paper matches, column-wise, as computed once per plan run. */
export interface TopicHits {
  topicIds: number[];
  paperIds: number[];
  ranks: number[];
  /** Matched lexemes, space-separated. */
  words: string[];
}

/**
 * Matches every followed topic against the candidate papers once per plan run, so the
 * chunks of a run join to these hits instead of each matching the same topics again.
 * It widens itself (and recomputes) only when a chunk needs papers it does not cover,
 * e.g. a subscriber back from a long pause.
 */
export interface TopicHitCache {
  covering(db: Queryable, window: CandidateWindow): Promise<TopicHits>;
}

export function createTopicHitCache(): TopicHitCache {
  let covered: { from: number | null; maxTo: number; latestDay: string | null; hits: TopicHits } | undefined;
  let pending: Promise<unknown> = Promise.resolve();
  const at = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const covers = (w: CandidateWindow) => {
    if (!covered || covered.maxTo !== at(w.maxTo)) return false;
    const from = at(w.minFrom);
    if (from !== null && (covered.from === null || covered.from > from)) return false;
    return w.latestDay === null || covered.latestDay === w.latestDay;
  };
  return {
    covering(db, w) {
      // Serialised, so two chunks that need the same widening compute it once.
      const next = pending.then(async () => {
        if (covered && covers(w)) return covered.hits;
        const sameRun = covered !== undefined && covered.maxTo === Date.parse(w.maxTo);
        const froms = [at(w.minFrom), sameRun ? (covered?.from ?? null) : null].filter((f): f is number => f !== null);
        const minFrom = froms.length > 0 ? new Date(Math.min(...froms)).toISOString() : null;
        const latestDay = w.latestDay ?? (sameRun ? (covered?.latestDay ?? null) : null);
        const window: CandidateWindow = { minFrom, maxTo: w.maxTo, latestDay };
        const hits = await computeTopicHits(db, window);
        covered = { from: at(minFrom), maxTo: Date.parse(w.maxTo), latestDay, hits };
        return hits;
      });
      pending = next.catch(() => undefined);
      return next;
    },
  };
}

export async function computeTopicHits(db: Queryable, w: CandidateWindow): Promise<TopicHits> {
  // papers_search_idx has fastupdate off (see schema.ts), so no pending list slows the probes.
  // One GIN probe per topic (the lateral "offset 0" keeps the probe per topic) instead of
  // testing every topic against every paper: ts_rank_cd and the matched words are then
  // computed only for the few papers each topic matches.
  const { rows } = await db.execute<{ topic_ids: number[] | null; paper_ids: number[] | null; ranks: number[] | null; words: string[] | null }>(sql`
    with h as (
      select t.id as topic_id, p.id as paper_id, ts_rank_cd(p.search, q.q) as rank,
             array_to_string(${matchedLexemes(sql`p.search`, sql`t.query`)}, ' ') as words
      from topics t
      cross join lateral websearch_to_tsquery('english', t.query) as q(q)
      cross join lateral (
        select p.id, p.search, p.first_seen_at, p.listing_day from papers p where p.search @@ q.q offset 0
      ) p
      where exists (select 1 from subscriber_topics st where st.topic_id = t.id)
        and p.first_seen_at <= ${w.maxTo}::timestamptz
        and (p.first_seen_at > ${w.minFrom}::timestamptz or p.listing_day = ${w.latestDay}::date)
    )
    select array_agg(topic_id) as topic_ids, array_agg(paper_id) as paper_ids, array_agg(rank) as ranks, array_agg(words) as words from h`);
  const r = rows[0];
  return {
    topicIds: (r?.topic_ids ?? []).map(Number),
    paperIds: (r?.paper_ids ?? []).map(Number),
    ranks: (r?.ranks ?? []).map(Number),
    words: r?.words ?? [],
  };
}

export interface MatchSummary {
  /** Digests inserted (a concurrent planner may have inserted some of the due ones first). */
  created: number;
  /** Of those, digests with at least one paper. */
  withPapers: number;
  /** Of those, digests without papers (status `empty`, or `queued` for subscribers who want them anyway). */
  empty: number;
  /** Papers put into the inserted digests. */
  papers: number;
  /** Ids of the inserted digests that are queued for sending, ascending. */
  queued: number[];
}

/**
 * Matches the due subscribers to their papers and inserts their digests, complete, in
 * one statement. `due` is a relation with one row per due subscriber: subscriber_id,
 * period, max_papers, send_when_empty, covers_from (their previous digest's covers_to,
 * null for a first digest), add_trending, topic_ids (sorted) and has_votes; every digest covers up
 * to `now`. A subscriber without topics gets the trending digest, one with
 * add_trending their matches and then the top trending papers (trending.ts), when
 * `trending` holds the chunk's trending candidates.
 *
 * Candidates of a digest: papers first seen in (covers_from, now]; for a first digest
 * the latest listing day seen by `now`. A paper already in any earlier digest of the
 * subscriber is never picked again.
 *
 * Set-based twice over: topics are matched against papers once per plan run (`hits`),
 * and papers are ranked once per *profile*, the things a digest's contents depend on
 * (topic set, papers per digest, window, papers to leave out). Subscribers with the same
 * profile share the computed list, so ranking costs what the distinct profiles cost,
 * not what the subscribers cost. A subscriber with votes shares their profile's
 * candidates and topic scores (computed once per profile) but gets a ranking of their
 * own, those scores × their feedback factors (`feedback`, worked out before this
 * statement by feedback.ts); without `feedback` that part is left out of the statement.
 * Digests are inserted with ON CONFLICT (subscriber_id, period) DO NOTHING: a digest
 * another planner created first is left alone.
 */
export async function insertMatchedDigests(
  db: Queryable,
  opts: MatchOptions,
): Promise<MatchSummary> {
  const { rows } = await db.execute(insertMatchedDigestsQuery(opts));
  const row = rows[0] as unknown as
    | { created: number; with_papers: number; empty: number; papers: number; queued: (number | string)[] | null }
    | undefined;
  return {
    created: row?.created ?? 0,
    withPapers: row?.with_papers ?? 0,
    empty: row?.empty ?? 0,
    papers: row?.papers ?? 0,
    queued: (row?.queued ?? []).map(Number),
  };
}

export interface MatchOptions {
  due: SQL;
  now: string;
  latestDay: string | null;
  hits: TopicHits;
  trending?: TrendingCandidates | null;
  /**
   * The due voters' feedback factors, rows (subscriber_id, paper_id, factor) from
   * feedback.ts; null or absent when no due subscriber has votes.
   */
  feedback?: SQL | null;
}

/** The statement behind insertMatchedDigests. */
function insertMatchedDigestsQuery(opts: MatchOptions): SQL {
  const { due, now, hits } = opts;
  const feedback = opts.feedback ?? null;
  const withVotes = feedback !== null;
  const trending = opts.trending ?? null;
  const latestDay = opts.latestDay === null ? sql`null::date` : sql`${opts.latestDay}::date`;
  const candidates = [...new Set([...hits.paperIds, ...(trending?.paperIds ?? [])])];
  return sql`
    with due as materialized (select * from ${due}),
    -- Never twice: candidate papers already in an earlier digest (GIN on paper_ids).
    sent as (
      select d.subscriber_id, array_agg(distinct u.paper_id order by u.paper_id) as paper_ids
      from digests d
      cross join unnest(d.paper_ids) as u(paper_id)
      where d.paper_ids && ${sql.param(candidates)}::bigint[]
        and d.subscriber_id in (select subscriber_id from due)
        and u.paper_id = any(${sql.param(candidates)}::bigint[])
      group by d.subscriber_id
    ),
    -- What each digest's contents depend on: the subscriber's topics (sorted ids),
    -- papers per digest, window start, papers to leave out and "also add trending" (the
    -- base key: which papers, and their topic scores); for a subscriber with votes, also
    -- the subscriber (their votes reorder those papers).
    keys as materialized (
      select k.*, concat_ws('|', k.topic_ids, k.max_papers, k.window_from, k.excluded, k.add_trending) as base_key
      from (
        select due.subscriber_id, due.period, due.send_when_empty, due.covers_from, due.max_papers,
               ${withVotes ? sql`case when due.has_votes then due.subscriber_id end` : sql`null::bigint`} as voter,
               coalesce(due.covers_from, '-infinity') as window_from,
               due.topic_ids, due.add_trending and cardinality(due.topic_ids) > 0 as add_trending,
               coalesce(x.paper_ids, '{}') as excluded
        from due
        left join sent x on x.subscriber_id = due.subscriber_id
      ) k
    ),
    -- One row per distinct base key, joined back on that one text key, which the planner
    -- hashes (on four columns, two of them arrays, it sorts and merges instead). Topic
    -- scores are computed once per base, voters included.
    bases as materialized (
      select row_number() over () as base, base_key,
             min(topic_ids) as topic_ids, min(max_papers) as max_papers, min(window_from) as window_from, min(excluded) as excluded,
             bool_or(add_trending) as add_trending, bool_or(voter is null) as shared_by_plain
      from keys
      group by base_key
    ),
    -- Each due subscriber's ranking: their base's, or for a voter their own, numbered
    -- minus their subscriber id (bases count up from 1).
    members as materialized (
      select k.subscriber_id, k.period, k.send_when_empty, k.covers_from, k.voter, b.base,
             case when k.voter is null then b.base else -k.voter end as profile
      from keys k join bases b on b.base_key = k.base_key
    ),
    -- One row per ranking: a base shared by the subscribers without votes, a voter each.
    profiles as materialized (
      select b.base as profile, b.*, null::bigint as voter from bases b ${withVotes ? sql`where b.shared_by_plain` : sql``}
      ${withVotes
        ? sql`union all
              select m.profile, b.*, m.voter
              from members m join bases b on b.base = m.base
              where m.voter is not null`
        : sql``}
    ),
    topic_hits as materialized (
      select h.topic_id, h.paper_id, p.upvotes, p.published_at, p.first_seen_at, p.listing_day, h.rank, h.words
      from unnest(${sql.param(hits.topicIds)}::bigint[], ${sql.param(hits.paperIds)}::bigint[],
                  ${sql.param(hits.ranks)}::real[], ${sql.param(hits.words)}::text[]) as h(topic_id, paper_id, rank, words)
      join papers p on p.id = h.paper_id
    ),
    per_paper as (
      select b.base, h.paper_id, min(b.max_papers) as max_papers,
             ${boostedScore(sql`max(h.rank)`, sql`min(h.upvotes)`)} as score,
             min(h.upvotes) as upvotes, max(h.published_at) as published_at, max(h.first_seen_at) as first_seen_at,
             array_agg(h.topic_id order by h.rank desc, h.topic_id) as topics,
             string_agg(h.words, ' ') as words
      from bases b
      cross join unnest(b.topic_ids) as t(topic_id)
      join topic_hits h on h.topic_id = t.topic_id
      where h.first_seen_at <= ${now}::timestamptz
        and (case when b.window_from = '-infinity' then h.listing_day = ${latestDay} else h.first_seen_at > b.window_from end)
        and h.paper_id <> all(b.excluded)
      group by b.base, h.paper_id
    ),
    ranked as (
      select * from (
        select f.*, row_number() over (
                 partition by f.profile
                 order by f.score desc, f.upvotes desc, f.published_at desc nulls last, f.first_seen_at desc, f.paper_id desc
               ) as pos
        from (
          ${withVotes
            ? sql`select pr.profile, pp.paper_id, pp.max_papers, (pp.score * coalesce(fb.factor, 1))::real as score, fb.factor as feedback,
                         pp.upvotes, pp.published_at, pp.first_seen_at, pp.topics, pp.words
                  from profiles pr
                  join per_paper pp on pp.base = pr.base
                  left join ${feedback} fb on fb.subscriber_id = pr.voter and fb.paper_id = pp.paper_id`
            : sql`select pp.base as profile, pp.paper_id, pp.max_papers, pp.score, null::real as feedback,
                         pp.upvotes, pp.published_at, pp.first_seen_at, pp.topics, pp.words
                  from per_paper pp`}
        ) f
      ) r
      where r.pos <= r.max_papers
    ),
    -- Topic matches first, then the trending picks (all of a no-topic digest).
    picks as (
      select profile, paper_id, pos, jsonb_strip_nulls(jsonb_build_object(
               'score', score, 'feedback', feedback,
               'topics', topics,
               'words', case when cardinality(topics) = 1 then string_to_array(words, ' ')
                             else array(select distinct w from unnest(string_to_array(words, ' ')) as w where w <> '' order by w) end
             )) as m
      from ranked
      union all
      select t.profile, t.paper_id, 1000 + t.pos,
             jsonb_strip_nulls(jsonb_build_object('score', t.upvotes, 'topics', '[]'::jsonb, 'words', '[]'::jsonb, 'trending', t.upvotes, 'feedback', t.feedback))
      from (${trendingPicks(sql`profiles`, sql`ranked`, trending, feedback)}) t
    ),
    results as materialized (
      select profile, count(*)::int as n, array_agg(paper_id order by pos) as paper_ids, jsonb_agg(m order by pos) as matches
      from picks
      group by profile
    ),
    ins as (
      insert into digests (subscriber_id, period, status, covers_from, covers_to, paper_count, paper_ids, matches)
      select k.subscriber_id, k.period,
             case when coalesce(r.n, 0) = 0 and not k.send_when_empty then 'empty'::digest_status else 'queued'::digest_status end,
             k.covers_from, ${now}::timestamptz, coalesce(r.n, 0), coalesce(r.paper_ids, '{}'), coalesce(r.matches, '[]')
      from members k
      left join results r on r.profile = k.profile
      order by k.subscriber_id
      on conflict (subscriber_id, period) do nothing
      returning id, status, paper_count
    )
    select count(*)::int as created,
           count(*) filter (where paper_count > 0)::int as with_papers,
           count(*) filter (where paper_count = 0)::int as empty,
           coalesce(sum(paper_count), 0)::int as papers,
           array_agg(id order by id) filter (where status = 'queued') as queued
    from ins
  `;
}
