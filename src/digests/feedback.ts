import { sql, type SQL } from "drizzle-orm";

/**
 * How votes ("more like this" / "less like this") change a subscriber's next digest
 * (the README repeats this).
 *
 * A subscriber's profile is a weight per term, over their votes:
 *
 *   w(term) = Σ over voted papers holding the term of  vote × 0.5^(age in days / 30)
 *
 * where vote is +1 or −1, the age counts from when the vote was cast, and a paper's
 * terms are the English stems of its title and AI keywords (the A and B weights of its
 * search vector: what the paper is about, not every word of its abstract). A candidate
 * paper's affinity is its terms' weights, summed and scaled by the square root of its
 * term count (a long title does not win by length):
 *
 *   affinity(paper) = Σ w(term of paper) / √(terms of paper)
 *   feedback        = 4 ^ tanh(affinity)              (between ×¼ and ×4; ×1 without votes)
 *
 * and the score a digest ranks by is the topic score (match.ts) × feedback. A paper like
 * three liked ones reaches ~×4, one like two disliked ones ~×⅓, so feedback outweighs
 * the upvote boost (at most ×1.5) and a title-vs-abstract hit (×5) only at its extremes.
 * Feedback only reorders a digest's candidates: a paper that matches none of the
 * subscriber's topics is never added because of it. For a trending subscriber (no
 * topics) the candidates are the covered days' papers, ranked by
 * (1 + ln(1 + upvotes)) × feedback (without votes: by upvotes, as before).
 */
export const FEEDBACK_HALF_LIFE_DAYS = 30;
export const FEEDBACK_RANGE = 4;

/** The terms a paper is about, as SQL: stems of its title (A) and AI keywords (B). */
export const paperTerms = (search: SQL) => sql`tsvector_to_array(ts_filter(${search}, '{a,b}'))`;

/**
 * The feedback factor of each voting profile for each of its candidate papers, as rows
 * (profile, paper_id, factor): `profiles` has profile, voter (the subscriber id of a
 * profile whose subscriber has votes, else null), topic_ids and add_trending;
 * `topicCandidates` has (profile, paper_id) of the topic matches; `trendingIds` are the
 * papers a trending profile ranks. A missing pair means ×1.
 *
 * Σ w(term of paper) is computed as Σ over the voter's votes of vote × decay × (stems the
 * voted paper and the candidate share), the same sum regrouped: the shared-stem counts
 * are worked out once per run for the few (voted paper, candidate) pairs that share a
 * stem, so each voter costs a hash probe per (vote, candidate), not a row per term.
 * Set-based: no loop per subscriber.
 */
export function feedbackFactors(profiles: SQL, topicCandidates: SQL, candidates: number[], trendingIds: number[], now: string): SQL {
  return sql`
    with voted as materialized (
      select pr.profile, v.paper_id,
             v.vote * power(0.5::float8, greatest(extract(epoch from (${now}::timestamptz - v.voted_at)), 0) / 86400.0 / ${FEEDBACK_HALF_LIFE_DAYS}) as w
      from ${profiles} pr
      join votes v on v.subscriber_id = pr.voter
      where pr.voter is not null
    ),
    candidate_terms as materialized (
      select p.id as paper_id, t.term, 1.0 / sqrt(greatest(cardinality(${paperTerms(sql`p.search`)}), 1)) as norm
      from papers p
      cross join unnest(${paperTerms(sql`p.search`)}) as t(term)
      where p.id = any(${sql.param(candidates)}::bigint[])
    ),
    shared as materialized (
      select q.paper_id as voted_id, c.paper_id, count(*) * min(c.norm) as weight
      from (select p.id as paper_id, t.term from papers p cross join unnest(${paperTerms(sql`p.search`)}) as t(term)
            where p.id in (select distinct paper_id from voted)) q
      join candidate_terms c on c.term = q.term
      group by q.paper_id, c.paper_id
    ),
    pairs as (
      select tc.profile, tc.paper_id from ${topicCandidates} tc
      where tc.profile in (select profile from ${profiles} where voter is not null)
      union
      select pr.profile, c.id from ${profiles} pr cross join unnest(${sql.param(trendingIds)}::bigint[]) as c(id)
      where pr.voter is not null and (cardinality(pr.topic_ids) = 0 or pr.add_trending)
    )
    select pa.profile, pa.paper_id, power(${FEEDBACK_RANGE}::float8, tanh(sum(v.w * s.weight)))::real as factor
    from pairs pa
    join voted v on v.profile = pa.profile
    join shared s on s.voted_id = v.paper_id and s.paper_id = pa.paper_id
    group by pa.profile, pa.paper_id`;
}
