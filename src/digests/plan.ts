import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { createTopicHitCache, matchDigests, type MatchResult, type TopicHitCache } from "./match.js";
import { isKnownTimeZone } from "./schedule.js";

export interface PlanOptions {
  /** The moment to plan for; every "is it time yet" question is asked at this instant. */
  now: Date;
  /** Subscribers read per keyset-paged chunk (one transaction each). */
  chunkSize?: number;
  /** Chunks planned at the same time, each on its own pool connection (default 2). */
  concurrency?: number;
  /** Called after each chunk commits with the digests it queued, so sending can start early. */
  onQueued?: (digestIds: number[]) => Promise<void>;
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

export const DEFAULT_PLAN_CHUNK = 25_000;

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
 * a few chunks at a time on separate connections (chunks never share a subscriber): digests are inserted with ON CONFLICT (subscriber_id,
 * period) DO NOTHING, so a re-run or a second planner at the same time creates nothing
 * twice, and only the digests this transaction inserted are matched.
 */
export async function planDigests(db: Db, opts: PlanOptions): Promise<PlanSummary> {
  const chunkSize = opts.chunkSize ?? DEFAULT_PLAN_CHUNK;
  const now = opts.now.toISOString();
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
  const zoneRows = await db.execute<{ timezone: string }>(
    sql`select distinct timezone from subscribers where status = 'active' and paused_at is null`,
  );
  const zones = zoneRows.rows.map((r) => r.timezone).filter(isKnownTimeZone);

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
        where status = 'active' and paused_at is null and id > ${cursor}
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
      const chunk = await planChunk(db, now, zones, hitCache, range.lo, range.hi);
      summary.scanned += chunk.scanned;
      summary.unknownZone += chunk.unknownZone;
      summary.due += chunk.due;
      summary.created += chunk.created;
      summary.withPapers += chunk.match.withPapers;
      summary.empty += chunk.match.empty;
      summary.papers += chunk.match.papers;
      summary.queuedDigestIds.push(...chunk.queued);
      if (opts.onQueued && chunk.queued.length > 0) await opts.onQueued(chunk.queued);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  summary.queuedDigestIds.sort((a, b) => a - b);
  return summary;
}

interface ChunkResult {
  scanned: number;
  unknownZone: number;
  due: number;
  created: number;
  match: MatchResult;
  queued: number[];
}

/** Plans the active subscribers with lo < id <= hi (hi null: to the end) in one transaction. */
function planChunk(db: Db, now: string, zones: string[], hitCache: TopicHitCache, lo: number, hi: number | null): Promise<ChunkResult> {
  return db.transaction(async (tx) => {
    // The match sorts and hashes a few rows per subscriber of the chunk; keep that in memory.
    await tx.execute(sql`set local work_mem = '64MB'`);
    // These statements run once per chunk: compiling them with JIT costs more than it saves.
    await tx.execute(sql`set local jit = off`);
    const { rows } = await tx.execute<{
      scanned: number;
      unknown_zone: number;
      due: number;
      created: number[] | null;
    }>(sql`
      with subs as materialized (
        select s.id, s.timezone, s.send_hour, s.frequency, s.weekday
        from subscribers s
        where s.status = 'active' and s.paused_at is null and s.id > ${lo} and (${hi}::bigint is null or s.id <= ${hi}::bigint)
      ),
      local as (
        select id, send_hour, frequency, weekday, (${now}::timestamptz at time zone timezone) as t
        from subs where timezone = any(${sql.param(zones)}::text[])
      ),
      due as materialized (
        select l.id as subscriber_id, l.t::date as period
        from local l
        where extract(hour from l.t) >= l.send_hour
          and (l.frequency = 'daily' or extract(isodow from l.t) = l.weekday)
          and not exists (select 1 from digests d where d.subscriber_id = l.id and d.period = l.t::date)
      ),
      ins as (
        insert into digests (subscriber_id, period, status, covers_from, covers_to)
        select due.subscriber_id, due.period, 'queued', prev.covers_to, ${now}::timestamptz
        from due
        left join lateral (
          select d.covers_to from digests d
          where d.subscriber_id = due.subscriber_id and d.period < due.period
          order by d.period desc limit 1
        ) prev on true
        order by due.subscriber_id
        on conflict (subscriber_id, period) do nothing
        returning id
      )
      select (select count(*) from subs)::int as scanned,
             (select count(*) from subs)::int - (select count(*) from local)::int as unknown_zone,
             (select count(*) from due)::int as due,
             (select array_agg(id order by id) from ins) as created
    `);
    const row = rows[0];
    const created = (row?.created ?? []).map(Number);
    const match = await matchDigests(tx, created, hitCache);
    const queued =
      created.length === 0
        ? []
        : (
            await tx.execute<{ id: number }>(
              sql`select id from digests where id = any(${sql.param(created)}::bigint[]) and status = 'queued' order by id`,
            )
          ).rows.map((r) => Number(r.id));
    return {
      scanned: row?.scanned ?? 0,
      unknownZone: row?.unknown_zone ?? 0,
      due: row?.due ?? 0,
      created: created.length,
      match,
      queued,
    };
  });
}
