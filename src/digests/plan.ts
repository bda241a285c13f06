import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { feedbackFactors } from "./feedback.js";
import { createTopicHitCache, insertMatchedDigests, type MatchSummary, type TopicHitCache } from "./match.js";
import { isKnownTimeZone } from "./schedule.js";
import { trendingCandidates } from "./trending.js";

export interface PlanOptions {
  /** The moment to plan for; every "is it time yet" question is asked at this instant. */
  now: Date;
  /**
   * Subscribers read per keyset-paged chunk (one transaction each). Default: the active
   * subscribers shared evenly among the concurrent chunks, at most MAX_PLAN_CHUNK each.
   */
  chunkSize?: number;
  /** Chunks planned at the same time, each on its own pool connection (default 2). */
  concurrency?: number;
  /** Called after each chunk commits with the digests it queued, so sending can start early. */
  onQueued?: (digestIds: number[]) => Promise<void>;
  /** Plan only these subscribers (the demo's own); everyone else waits for the scheduled plan. */
  subscriberIds?: number[];
  /**
   * The zone listing days are dates in (INGEST_TZ): a trending digest covers the listing
   * days that ended there before `now` (see trending.ts). Default UTC.
   */
  listingTimeZone?: string;
}

export interface PlanSummary {
  /** Active, unpaused subscribers looked at. */
  scanned: number;
  /** Of those, due now: their send hour has come for a period without a digest yet. */
  due: number;
  /** Digests this run created (a concurrent planner may have created the others). */
  created: number;
  /** Created digests with papers (status queued). */
  withPapers: number;
  /** Created digests without papers (status empty, or queued if the subscriber wants them anyway). */
  empty: number;
  /** Papers put into the created digests. */
  papers: number;
  /** Subscribers skipped because Postgres does not know their time zone. */
  unknownZone: number;
  /** Ids of the created digests that are queued for sending. */
  queuedDigestIds: number[];
}

/** Memory per chunk stays flat beyond this; larger runs simply take more chunks. */
export const MAX_PLAN_CHUNK = 50_000;
/** Below this a chunk is not worth its own transaction and topic-set ranking. */
const MIN_PLAN_CHUNK = 2_000;

/**
 * Creates the digests that are due at `now` and fills them with their papers.
 *
 * A subscriber is due when the local time in their zone (`now at time zone tz`, so DST
 * is Postgres's business) has reached their send hour on a day that starts a period
 * (every day, or their ISO weekday) and they have no digest for that local date yet.
 * The period is that local date; a planner that was down for a whole period does not
 * catch it up, the next digest simply covers everything since the previous one.
 *
 * Subscribers are read in keyset-paged chunks (the next boundary is `id > last order by
 * id offset n-1 limit 1` on the (status, id) index), each chunk in its own transaction,
 * a few chunks at a time on separate connections (chunks never share a subscriber). A
 * chunk's digests are matched and inserted complete, in one statement
 * (insertMatchedDigests), with ON CONFLICT (subscriber_id, period) DO NOTHING: a re-run
 * or a second planner at the same time creates nothing twice, and no digest is ever
 * visible as queued without its papers.
 */
export async function planDigests(db: Db, opts: PlanOptions): Promise<PlanSummary> {
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const now = opts.now.toISOString();
  const only = opts.subscriberIds ? sql.param(opts.subscriberIds) : null;
  const listingTz = opts.listingTimeZone ?? "UTC";
  const summary: PlanSummary = {
    scanned: 0,
    due: 0,
    created: 0,
    withPapers: 0,
    empty: 0,
    papers: 0,
    unknownZone: 0,
    queuedDigestIds: [],
  };
  // A zone the time-zone database does not know would make `at time zone` fail the whole
  // chunk; such subscribers are skipped and counted instead. Checked once per run, on
  // the few distinct zones in use.
  const zoneRows = await db.execute<{ timezone: string; n: number }>(
    sql`select timezone, count(*)::int as n from subscribers
        where status = 'active' and paused_at is null and (${only}::bigint[] is null or id = any(${only}::bigint[])) group by timezone`,
  );
  const zones = zoneRows.rows.map((r) => r.timezone).filter(isKnownTimeZone);
  const active = zoneRows.rows.reduce((sum, r) => sum + Number(r.n), 0);
  // Every worker gets a chunk when there is enough to share (a 50k run is two 25k chunks
  // planned side by side, not one chunk while the other connection idles).
  const chunkSize = opts.chunkSize ?? Math.min(MAX_PLAN_CHUNK, Math.max(MIN_PLAN_CHUNK, Math.ceil(active / concurrency)));

  const hitCache = createTopicHitCache();
  // Chunk boundaries are handed out one at a time, in id order, to the workers below.
  let cursor = 0;
  let exhausted = false;
  let handout: Promise<unknown> = Promise.resolve();
  const nextRange = (): Promise<{ lo: number; hi: number | null } | null> => {
    const next = handout.then(async () => {
      if (exhausted) return null;
      const { rows } = await db.execute<{ id: number }>(sql`
        select id from subscribers
        where status = 'active' and paused_at is null and id > ${cursor} and (${only}::bigint[] is null or id = any(${only}::bigint[]))
        order by id offset ${chunkSize - 1} limit 1`);
      const lo = cursor;
      const hi = rows[0] ? Number(rows[0].id) : null;
      if (hi === null) exhausted = true;
      else cursor = hi;
      return { lo, hi };
    });
    handout = next.catch(() => undefined);
    return next;
  };

  const worker = async () => {
    for (let range = await nextRange(); range; range = await nextRange()) {
      const chunk = await planChunk(db, { now, listingTz }, zones, hitCache, range.lo, range.hi, only);
      summary.scanned += chunk.scanned;
      summary.unknownZone += chunk.unknownZone;
      summary.due += chunk.due;
      summary.created += chunk.match.created;
      summary.withPapers += chunk.match.withPapers;
      summary.empty += chunk.match.empty;
      summary.papers += chunk.match.papers;
      summary.queuedDigestIds.push(...chunk.match.queued);
      if (opts.onQueued && chunk.match.queued.length > 0) await opts.onQueued(chunk.match.queued);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  summary.queuedDigestIds.sort((a, b) => a - b);
  return summary;
}

interface ChunkResult {
  scanned: number;
  unknownZone: number;
  due: number;
  match: MatchSummary;
}

/** Plans the active subscribers with lo < id <= hi (hi null: to the end) in one transaction. */
function planChunk(
  db: Db,
  at: { now: string; listingTz: string },
  zones: string[],
  hitCache: TopicHitCache,
  lo: number,
  hi: number | null,
  only: ReturnType<typeof sql.param> | null,
): Promise<ChunkResult> {
  const { now, listingTz } = at;
  return db.transaction(async (tx) => {
    // The match sorts and hashes a few rows per subscriber of the chunk; keep that in memory.
    await tx.execute(sql`set local work_mem = '64MB'`);
    // These statements run once per chunk: compiling them with JIT costs more than it saves.
    await tx.execute(sql`set local jit = off`);
    const inChunk = sql`s.status = 'active' and s.paused_at is null and s.id > ${lo} and (${hi}::bigint is null or s.id <= ${hi}::bigint)
      and (${only}::bigint[] is null or s.id = any(${only}::bigint[]))`;
    // The chunk's due subscribers, kept for the transaction: the candidate window is
    // read off them before the match, and the match sees exactly the same rows. Their
    // topic ids (sorted) are read here once: they decide topics vs trending and the profile.
    await tx.execute(sql`
      create temporary table plan_due (
        subscriber_id bigint primary key, period date not null, max_papers smallint not null,
        send_when_empty boolean not null, covers_from timestamptz, add_trending boolean not null,
        topic_ids bigint[] not null, has_votes boolean not null
      ) on commit drop`);
    await tx.execute(sql`
      insert into plan_due (subscriber_id, period, max_papers, send_when_empty, covers_from, add_trending, topic_ids, has_votes)
      select l.id, l.t::date, l.max_papers, l.send_when_empty, prev.covers_to, l.add_trending,
             array(select st.topic_id from subscriber_topics st where st.subscriber_id = l.id order by st.topic_id),
             exists (select 1 from votes v where v.subscriber_id = l.id)
      from (
        select s.id, s.send_hour, s.frequency, s.weekday, s.max_papers, s.send_when_empty, s.add_trending,
               (${now}::timestamptz at time zone s.timezone) as t
        from subscribers s
        where ${inChunk} and s.timezone = any(${sql.param(zones)}::text[])
      ) l
      left join lateral (
        select d.covers_to from digests d
        where d.subscriber_id = l.id and d.period < l.t::date
        order by d.period desc limit 1
      ) prev on true
      where extract(hour from l.t) >= l.send_hour
        and (l.frequency = 'daily' or extract(isodow from l.t) = l.weekday)
        and not exists (select 1 from digests d where d.subscriber_id = l.id and d.period = l.t::date)`);
    const { rows } = await tx.execute<{
      scanned: number;
      known_zone: number;
      due: number;
      min_from: string | null;
      latest_day: string | null;
      trending: boolean | null;
      trend_from: string | null;
      with_votes: boolean | null;
    }>(sql`
      with scanned as (
        select count(*)::int as n, count(*) filter (where s.timezone = any(${sql.param(zones)}::text[]))::int as known
        from subscribers s where ${inChunk}
      )
      select (select n from scanned) as scanned, (select known from scanned) as known_zone,
             count(*)::int as due,
             to_json(min(covers_from)) #>> '{}' as min_from,
             case when bool_or(covers_from is null)
                  then (select to_char(max(p.listing_day), 'YYYY-MM-DD') from papers p where p.first_seen_at <= ${now}::timestamptz) end as latest_day,
             bool_or(add_trending or cardinality(topic_ids) = 0) as trending,
             to_json(min(covers_from) filter (where add_trending or cardinality(topic_ids) = 0)) #>> '{}' as trend_from,
             bool_or(has_votes) as with_votes
      from plan_due`);
    const row = rows[0];
    const counts = { scanned: row?.scanned ?? 0, unknownZone: (row?.scanned ?? 0) - (row?.known_zone ?? 0), due: row?.due ?? 0 };
    if (counts.due === 0) return { ...counts, match: { created: 0, withPapers: 0, empty: 0, papers: 0, queued: [] } };
    const latestDay = row?.latest_day ?? null;
    const hits = await hitCache.covering(tx, { minFrom: row?.min_from ?? null, maxTo: now, latestDay });
    const trending = row?.trending ? await trendingCandidates(tx, { now, listingTz, minFrom: row.trend_from }) : null;
    // Votes re-rank their voters' digests: the factors are worked out first, in
    // statements of their own, so the match statement only joins them.
    const feedback = row?.with_votes
      ? await feedbackFactors(tx, { due: sql`plan_due`, topicIds: hits.topicIds, paperIds: hits.paperIds, trendingIds: trending?.paperIds ?? [], now })
      : null;
    const match = await insertMatchedDigests(tx, { due: sql`plan_due`, now, latestDay, hits, trending, feedback });
    return { ...counts, match };
  });
}
