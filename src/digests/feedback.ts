import { sql, type SQL } from "drizzle-orm";
import type { Queryable } from "../db/client.js";

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

/** What a plan chunk's feedback is computed from. */
export interface FeedbackInput {
  /**
   * The chunk's due subscribers (plan.ts's plan_due): subscriber_id, topic_ids,
   * add_trending and has_votes.
   */
  due: SQL;
  /** The run's topic × paper matches, column-wise (match.ts's TopicHits). */
  topicIds: number[];
  paperIds: number[];
  /** The papers a trending digest of the chunk may hold. */
  trendingIds: number[];
  /** The plan's instant (ISO): votes age from when they were cast to now. */
  now: string;
}

/**
 * Works out the feedback factor of each due voter for each paper their digest may rank,
 * into a temporary table of the chunk's transaction, and returns it as a relation of
 * rows (subscriber_id, paper_id, factor); a missing pair means ×1. Two statements, and
 * none when no due subscriber has votes (plan.ts asks only then).
 *
 * Σ w(term of paper) is computed as Σ over the voter's votes of vote × decay × (stems
 * the voted paper and the candidate share), the same sum regrouped:
 *
 * 1. plan_shared: for each (voted paper, candidate) pair that shares a stem, the count
 *    of shared stems over √(candidate's stems); each paper's stems are read from its
 *    search vector once per chunk, for the chunk's voted papers and the run's candidates
 *    only, never per voter.
 * 2. plan_feedback: each voter's candidates (the papers their topics matched, and the
 *    trending papers for a voter who wants them) meet that voter's votes, and each such
 *    row is one hash probe into plan_shared: about 10 votes × 11 candidates per voter.
 *    (The other way round, each vote meeting every candidate its paper shares a stem
 *    with, is every candidate of the day instead of the voter's own: several times the
 *    rows, the 4 M-row sort the first version spent seconds on.)
 *
 * Set-based: no loop per subscriber.
 */
export async function feedbackFactors(db: Queryable, input: FeedbackInput): Promise<SQL> {
  // Tables of the transaction, analysed: the factor statement's planner then knows what
  // it joins (on a CTE or unnest() it guesses, a hundred times too many rows, and sorts
  // millions of rows to disk to merge them).
  const table = async (name: string, query: SQL) => {
    await db.execute(sql`create temporary table ${sql.identifier(name)} on commit drop as ${query}`);
    await db.execute(sql`analyze ${sql.identifier(name)}`);
  };
  const votes = sql`
    select v.subscriber_id, v.paper_id,
           v.vote * power(0.5::float8, greatest(extract(epoch from (${input.now}::timestamptz - v.voted_at)), 0) / 86400.0 / ${FEEDBACK_HALF_LIFE_DAYS}) as w
    from ${input.due} d
    join votes v on v.subscriber_id = d.subscriber_id
    where d.has_votes`;
  const pairs = sql`
    select d.subscriber_id, h.paper_id
    from ${input.due} d
    cross join unnest(d.topic_ids) as t(topic_id)
    join unnest(${sql.param(input.topicIds)}::bigint[], ${sql.param(input.paperIds)}::bigint[]) as h(topic_id, paper_id) on h.topic_id = t.topic_id
    where d.has_votes
    union
    select d.subscriber_id, c.id
    from ${input.due} d
    cross join unnest(${sql.param(input.trendingIds)}::bigint[]) as c(id)
    where d.has_votes and (cardinality(d.topic_ids) = 0 or d.add_trending)`;
  const candidates = [...new Set([...input.paperIds, ...input.trendingIds])];
  // One number per (voted paper, candidate): voted × span + candidate. The planner sizes
  // a hash on one key by that key's distinct values, but on two keys by the likelier of
  // the two alone (a few hundred voted papers), which has it hash the million-row side.
  const span = candidates.reduce((m, id) => Math.max(m, id), 0) + 1;
  await table(
    "plan_shared",
    sql`with voted as (select distinct v.paper_id from ${input.due} d join votes v on v.subscriber_id = d.subscriber_id where d.has_votes),
        terms as (
          select p.id as paper_id, u.term, 1.0 / sqrt(greatest(cardinality(t.terms), 1)) as norm
          from papers p
          cross join lateral (select ${paperTerms(sql`p.search`)} as terms) t
          cross join unnest(t.terms) as u(term)
          where p.id = any(${sql.param(candidates)}::bigint[]) or p.id in (select paper_id from voted)
        )
        select q.paper_id * ${span}::bigint + c.paper_id as pair, count(*) * min(c.norm) as weight
        from terms q
        join terms c on c.term = q.term
        where q.paper_id in (select paper_id from voted) and c.paper_id = any(${sql.param(candidates)}::bigint[])
        group by q.paper_id, c.paper_id`,
  );
  await table(
    "plan_feedback",
    sql`select pa.subscriber_id, pa.paper_id, power(${FEEDBACK_RANGE}::float8, tanh(sum(v.w * s.weight)))::real as factor
        from (${pairs}) pa
        join (${votes}) v on v.subscriber_id = pa.subscriber_id
        join plan_shared s on s.pair = v.paper_id * ${span}::bigint + pa.paper_id
        group by pa.subscriber_id, pa.paper_id`,
  );
  return sql`plan_feedback`;
}
