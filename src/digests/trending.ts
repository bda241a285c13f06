import { sql, type SQL } from "drizzle-orm";
import type { Queryable } from "../db/client.js";

/**
 * Trending: the papers of a listing day ranked by community upvotes, for subscribers
 * who follow no topics (their whole digest) and for those who asked to "also add the
 * top trending papers" (TRENDING_EXTRA after their matches).
 *
 * Which listing days a trending digest covers. Upvotes keep coming in for a day or two
 * after a paper is listed, and a listing day keeps filling until it ends, so a digest
 * never covers a day still in progress: it covers the listing days that had ended (in
 * the listing zone, INGEST_TZ) at planning time and that the subscriber's previous
 * digest had not covered, i.e. the days D with
 *
 *     date(previous digest's covers_to) <= D < date(now)        (both in the listing zone)
 *
 * and, for a first digest, the latest ended listing day that has papers. A daily
 * digest sent on the 28th therefore holds the 27th's best papers, ranked by the upvotes
 * they have when the digest is planned (the 27th's upvotes are a day old by then, not
 * the few minutes old they would be at the end of the 27th); a weekly digest holds its
 * week's days. A paper already in an earlier digest of the subscriber (say, matched by
 * one of their topics yesterday) is never picked again.
 *
 * Ties: more upvotes first, then the more recent paper (published, then first seen).
 */
export const TRENDING_EXTRA = 3;

/** What a plan chunk's trending digests can pick from, found once per chunk. */
export interface TrendingCandidates {
  /** The listing zone (IANA). */
  timeZone: string;
  /** The listing day in progress at planning time (the first day not covered), YYYY-MM-DD. */
  today: string;
  /** The latest ended listing day with papers, for first digests; null when there is none. */
  latestDay: string | null;
  /** Every paper a trending digest of the chunk may hold (the never-twice check is limited to them). */
  paperIds: number[];
}

/**
 * The candidates for digests whose window starts at `minFrom` at the earliest (null:
 * only first digests). One range scan on papers_listing_day_idx.
 */
export async function trendingCandidates(
  db: Queryable,
  opts: { now: string; listingTz: string; minFrom: string | null },
): Promise<TrendingCandidates> {
  const today = sql`(${opts.now}::timestamptz at time zone ${opts.listingTz})::date`;
  const fromDay = opts.minFrom === null ? sql`null::date` : sql`(${opts.minFrom}::timestamptz at time zone ${opts.listingTz})::date`;
  const { rows } = await db.execute<{ today: string; latest_day: string | null; ids: (number | string)[] | null }>(sql`
    with latest as (
      select max(listing_day) as day from papers where listing_day < ${today} and first_seen_at <= ${opts.now}::timestamptz
    )
    select to_char(${today}, 'YYYY-MM-DD') as today, to_char((select day from latest), 'YYYY-MM-DD') as latest_day,
           array(select p.id from papers p
                 where p.listing_day < ${today} and p.first_seen_at <= ${opts.now}::timestamptz
                   and (p.listing_day >= ${fromDay} or p.listing_day = (select day from latest))
                 order by p.id) as ids`);
  const r = rows[0];
  return { timeZone: opts.listingTz, today: r?.today ?? "", latestDay: r?.latest_day ?? null, paperIds: (r?.ids ?? []).map(Number) };
}

/**
 * The trending picks of each profile that wants them, as rows (profile, paper_id, pos,
 * upvotes): `profiles` has profile, voter (a voter's subscriber id, else null), topic_ids,
 * max_papers, window_from, excluded and add_trending; `topicPicks` has (profile, paper_id) of the topic matches, which a mixed
 * digest does not repeat. No topics: the top max_papers; with add_trending: the top
 * TRENDING_EXTRA. Upvotes are read from papers now, so the freshest count ranks.
 * `feedback` (subscriber_id, paper_id, factor), when given, re-ranks a voter's picks by
 * (1 + ln(1 + upvotes)) × factor (feedback.ts); without a factor that is the upvote order.
 */
export function trendingPicks(profiles: SQL, topicPicks: SQL, c: TrendingCandidates | null, feedback: SQL | null = null): SQL {
  if (c === null || c.paperIds.length === 0) {
    return sql`select null::bigint as profile, null::bigint as paper_id, null::bigint as pos, null::int as upvotes, null::real as feedback where false`;
  }
  const latestDay = c.latestDay === null ? sql`null::date` : sql`${c.latestDay}::date`;
  return sql`
    select r.profile, r.paper_id, r.pos, r.upvotes, r.feedback from (
      select tp.profile, p.id as paper_id, p.upvotes, tp.n, ${feedback ? sql`fb.factor` : sql`null::real`} as feedback,
             row_number() over (
               partition by tp.profile
               order by ${feedback ? sql`(1 + ln(1 + greatest(p.upvotes, 0))) * coalesce(fb.factor, 1) desc,` : sql``}
                        p.upvotes desc, p.published_at desc nulls last, p.first_seen_at desc, p.id desc
             ) as pos
      from (
        select pr.profile, pr.voter, pr.excluded,
               case when cardinality(pr.topic_ids) = 0 then pr.max_papers else ${TRENDING_EXTRA} end as n,
               case when pr.window_from = '-infinity' then ${latestDay}
                    else (pr.window_from at time zone ${c.timeZone})::date end as from_day
        from ${profiles} pr
        where cardinality(pr.topic_ids) = 0 or pr.add_trending
      ) tp
      join papers p on p.id = any(${sql.param(c.paperIds)}::bigint[])
                   and p.listing_day >= tp.from_day and p.listing_day < ${c.today}::date
      ${feedback ? sql`left join ${feedback} fb on fb.subscriber_id = tp.voter and fb.paper_id = p.id` : sql``}
      where p.id <> all(tp.excluded)
        and not exists (select 1 from ${topicPicks} t where t.profile = tp.profile and t.paper_id = p.id)
    ) r
    where r.pos <= r.n`;
}
