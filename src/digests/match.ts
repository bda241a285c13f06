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
export async function matchDigests(db: Queryable, digestIds: number[], cache?: TopicHitCache): Promise<MatchResult> {
  if (digestIds.length === 0) return { withPapers: 0, empty: 0, papers: 0 };
  const window = await candidateWindow(db, digestIds);
  const hits = await (cache ?? createTopicHitCache()).covering(db, window);
  const { rows } = await db.execute(matchDigestsQuery(digestIds, window, hits));
  const row = rows[0] as unknown as { with_papers: number; empty: number; papers: number } | undefined;
  return { withPapers: row?.with_papers ?? 0, empty: row?.empty ?? 0, papers: row?.papers ?? 0 };
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

export async function candidateWindow(db: Queryable, digestIds: number[]): Promise<CandidateWindow> {
  const { rows } = await db.execute<{ min_from: string | null; max_to: string; latest_day: string | null }>(sql`
    with b as (
      select min(covers_from) as min_from, max(covers_to) as max_to, bool_or(covers_from is null) as has_first
      from digests where id = any(${sql.param(digestIds)}::bigint[])
    )
    select to_json(b.min_from) #>> '{}' as min_from, to_json(b.max_to) #>> '{}' as max_to,
           case when b.has_first
                then (select to_char(max(p.listing_day), 'YYYY-MM-DD') from papers p where p.first_seen_at <= b.max_to) end as latest_day
    from b`);
  const row = rows[0];
  return { minFrom: row?.min_from ?? null, maxTo: row?.max_to ?? new Date(0).toISOString(), latestDay: row?.latest_day ?? null };
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

/** The one statement behind matchDigests (exported for EXPLAIN in the benchmark). */
export function matchDigestsQuery(digestIds: number[], w: CandidateWindow, hits: TopicHits): SQL {
  const ids = sql.param(digestIds);
  const latestDay = w.latestDay === null ? sql`null::date` : sql`${w.latestDay}::date`;
  return sql`
    with d as materialized (
      select dg.id as digest_id, dg.subscriber_id, dg.covers_from, dg.covers_to, s.max_papers, s.send_when_empty
      from digests dg join subscribers s on s.id = dg.subscriber_id
      where dg.id = any(${ids}::bigint[])
    ),
    -- The chunk's subscriber topics, read once; a chunk is an id range of subscribers, so
    -- the range bounds let the primary key skip the other chunks' rows.
    dt as materialized (
      select d.digest_id, d.subscriber_id, d.max_papers, d.covers_from, d.covers_to, st.topic_id, st.label
      from d join subscriber_topics st on st.subscriber_id = d.subscriber_id
      where st.subscriber_id between (select min(subscriber_id) from d) and (select max(subscriber_id) from d)
    ),
    -- Topic × paper matches computed once for the whole plan run.
    topic_hits as materialized (
      select h.topic_id, h.paper_id, p.upvotes, p.published_at, p.first_seen_at, p.listing_day, h.rank, h.words
      from unnest(${sql.param(hits.topicIds)}::bigint[], ${sql.param(hits.paperIds)}::bigint[],
                  ${sql.param(hits.ranks)}::real[], ${sql.param(hits.words)}::text[]) as h(topic_id, paper_id, rank, words)
      join papers p on p.id = h.paper_id
    ),
    already_sent as materialized (
      select distinct d2.subscriber_id, dp.paper_id
      from digest_papers dp
      join digests d2 on d2.id = dp.digest_id
      where d2.subscriber_id in (select subscriber_id from d)
        and dp.paper_id in (select paper_id from topic_hits)
        and d2.id <> all(${ids}::bigint[])
    ),
    sub_hits as materialized (
      select dt.digest_id, dt.subscriber_id, dt.max_papers, h.paper_id, h.upvotes, h.published_at, h.first_seen_at,
             h.rank, h.words, dt.label
      from dt
      join topic_hits h on h.topic_id = dt.topic_id
      where h.first_seen_at <= dt.covers_to
        and (case when dt.covers_from is null then h.listing_day = ${latestDay} else h.first_seen_at > dt.covers_from end)
        and not exists (select 1 from already_sent a where a.subscriber_id = dt.subscriber_id and a.paper_id = h.paper_id)
    ),
    -- Plain aggregates only: a paper usually matches one of the subscriber's topics, and
    -- the ordered label list and word union of the others are built below for kept papers.
    per_paper as (
      select sh.digest_id, sh.paper_id, min(sh.max_papers) as max_papers,
             ${boostedScore(sql`max(sh.rank)`, sql`min(sh.upvotes)`)} as score,
             min(sh.upvotes) as upvotes, max(sh.published_at) as published_at, max(sh.first_seen_at) as first_seen_at,
             count(*) as topics, min(sh.label) as label, min(sh.words) as words
      from sub_hits sh
      group by sh.digest_id, sh.paper_id
    ),
    kept as materialized (
      select * from (
        select pp.*, row_number() over (
                 partition by pp.digest_id
                 order by pp.score desc, pp.upvotes desc, pp.published_at desc nulls last, pp.first_seen_at desc, pp.paper_id desc
               ) as rank
        from per_paper pp
      ) r
      where r.rank <= r.max_papers
    ),
    multi as (
      select sh.digest_id, sh.paper_id, array_agg(sh.label order by sh.rank desc, sh.label) as matched_topics,
             string_agg(sh.words, ' ') as words
      from kept k
      join sub_hits sh on sh.digest_id = k.digest_id and sh.paper_id = k.paper_id
      where k.topics > 1
      group by sh.digest_id, sh.paper_id
    ),
    inserted as (
      insert into digest_papers (digest_id, paper_id, rank, score, matched_topics, matched_words)
      select k.digest_id, k.paper_id, k.rank, k.score, coalesce(m.matched_topics, array[k.label]),
             case when m.digest_id is null then string_to_array(k.words, ' ')
                  else array(select distinct w from unnest(string_to_array(m.words, ' ')) as w where w <> '' order by w) end
      from kept k
      left join multi m on m.digest_id = k.digest_id and m.paper_id = k.paper_id
      returning digest_id
    ),
    counts as (
      select digest_id, count(*)::int as n from inserted group by digest_id
    ),
    updated as (
      update digests dg
      set paper_count = coalesce(c.n, 0),
          status = case when coalesce(c.n, 0) = 0 and not d.send_when_empty then 'empty'::digest_status else dg.status end,
          updated_at = now()
      from d
      left join counts c on c.digest_id = d.digest_id
      where dg.id = d.digest_id
      returning dg.id, dg.paper_count
    )
    select count(*) filter (where paper_count > 0)::int as with_papers,
           count(*) filter (where paper_count = 0)::int as empty,
           coalesce(sum(paper_count), 0)::int as papers
    from updated
  `;
}
