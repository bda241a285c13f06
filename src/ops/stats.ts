import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";

/**
 * The numbers an operator looks at (admin dashboard, `cli stats`). Set-based SQL:
 * each answer is one query; days come from generate_series so a quiet day is a 0,
 * not a missing row. Days are UTC calendar days.
 */

export interface StatusCount {
  status: string;
  count: number;
}

export interface SignupDay {
  day: string;
  signups: number;
  confirmations: number;
}

export interface DigestDay {
  day: string;
  sent: number;
  empty: number;
  failed: number;
  bounced: number;
}

export interface IngestRunRow {
  id: number;
  source: string;
  day: string;
  status: string;
  fetched: number;
  inserted: number;
  updated: number;
  skipped: number;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface FailedDigestRow {
  id: number;
  subscriberId: number;
  period: string;
  attempts: number;
  error: string | null;
  updatedAt: Date;
}

export interface Totals {
  subscribers: StatusCount[];
  digests: StatusCount[];
  papers: number;
  topics: number;
  lastIngest: IngestRunRow | null;
}

const toInt = (v: unknown) => Number(v ?? 0);

/** Every value of a status enum with its count in `table`, zeros included. */
async function countByStatus(db: Db, table: "subscribers" | "digests", statusType: "subscriber_status" | "digest_status"): Promise<StatusCount[]> {
  const { rows } = await db.execute<{ status: string; count: string }>(sql`
    select s.status::text as status, count(x.id)::text as count
    from unnest(enum_range(null::${sql.raw(statusType)})) as s(status)
    left join ${sql.identifier(table)} x on x.status = s.status
    group by s.status order by s.status`);
  return rows.map((r) => ({ status: r.status, count: toInt(r.count) }));
}

export const subscribersByStatus = (db: Db) => countByStatus(db, "subscribers", "subscriber_status");
export const digestsByStatus = (db: Db) => countByStatus(db, "digests", "digest_status");

/** The last `days` UTC days ending with the day of `now`, oldest first. */
function daysSeries(days: number, now: Date) {
  const end = now.toISOString().slice(0, 10);
  return sql`generate_series(${end}::date - ${days - 1}::int, ${end}::date, interval '1 day')`;
}

export async function signupsPerDay(db: Db, days = 30, now = new Date()): Promise<SignupDay[]> {
  const { rows } = await db.execute<{ day: string; signups: string; confirmations: string }>(sql`
    with d as (select g::date as day from ${daysSeries(days, now)} as g),
    s as (
      select (created_at at time zone 'UTC')::date as day, count(*) as n from subscribers
      where created_at >= (select min(day) from d) group by 1),
    c as (
      select (confirmed_at at time zone 'UTC')::date as day, count(*) as n from subscribers
      where confirmed_at >= (select min(day) from d) group by 1)
    select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(s.n, 0)::text as signups, coalesce(c.n, 0)::text as confirmations
    from d left join s using (day) left join c using (day) order by d.day`);
  return rows.map((r) => ({ day: r.day, signups: toInt(r.signups), confirmations: toInt(r.confirmations) }));
}

/**
 * Digests by the day they reached their final state: a sent digest counts on the
 * day the SMTP server accepted it, an empty/failed/bounced one on its last update.
 */
export async function digestsPerDay(db: Db, days = 30, now = new Date()): Promise<DigestDay[]> {
  const { rows } = await db.execute<{ day: string; sent: string; empty: string; failed: string; bounced: string }>(sql`
    with d as (select g::date as day from ${daysSeries(days, now)} as g),
    x as (
      select (coalesce(sent_at, updated_at) at time zone 'UTC')::date as day,
             count(*) filter (where status = 'sent') as sent,
             count(*) filter (where status = 'empty') as empty,
             count(*) filter (where status = 'failed') as failed,
             count(*) filter (where status = 'bounced') as bounced
      from digests
      where status in ('sent', 'empty', 'failed', 'bounced')
        and coalesce(sent_at, updated_at) >= (select min(day) from d)
      group by 1)
    select to_char(d.day, 'YYYY-MM-DD') as day,
           coalesce(x.sent, 0)::text as sent, coalesce(x.empty, 0)::text as empty,
           coalesce(x.failed, 0)::text as failed, coalesce(x.bounced, 0)::text as bounced
    from d left join x using (day) order by d.day`);
  return rows.map((r) => ({ day: r.day, sent: toInt(r.sent), empty: toInt(r.empty), failed: toInt(r.failed), bounced: toInt(r.bounced) }));
}

export async function recentIngestRuns(db: Db, limit = 10): Promise<IngestRunRow[]> {
  const { rows } = await db.execute<{
    id: string; source: string; day: string; status: string; fetched: number; inserted: number; updated: number; skipped: number;
    error: string | null; started_at: string; finished_at: string | null; duration_ms: number | null;
  }>(sql`
    select id::text, source, to_char(day, 'YYYY-MM-DD') as day, status::text, fetched, inserted, updated, skipped, error,
           started_at, finished_at, duration_ms
    from ingest_runs order by started_at desc, id desc limit ${limit}`);
  return rows.map((r) => ({
    id: toInt(r.id),
    source: r.source,
    day: r.day,
    status: r.status,
    fetched: r.fetched,
    inserted: r.inserted,
    updated: r.updated,
    skipped: r.skipped,
    error: r.error,
    startedAt: new Date(r.started_at),
    finishedAt: r.finished_at ? new Date(r.finished_at) : null,
    durationMs: r.duration_ms,
  }));
}

export async function recentFailedDigests(db: Db, limit = 20): Promise<FailedDigestRow[]> {
  const { rows } = await db.execute<{ id: string; subscriber_id: string; period: string; attempts: number; error: string | null; updated_at: string }>(sql`
    select id::text, subscriber_id::text, to_char(period, 'YYYY-MM-DD') as period, attempts, error, updated_at
    from digests where status = 'failed' order by updated_at desc, id desc limit ${limit}`);
  return rows.map((r) => ({
    id: toInt(r.id),
    subscriberId: toInt(r.subscriber_id),
    period: r.period,
    attempts: r.attempts,
    error: r.error,
    updatedAt: new Date(r.updated_at),
  }));
}

export async function totals(db: Db): Promise<Totals> {
  const [subscribers, digests, counts, runs] = await Promise.all([
    subscribersByStatus(db),
    digestsByStatus(db),
    db.execute<{ papers: string; topics: string }>(sql`select (select count(*) from papers)::text as papers, (select count(*) from topics)::text as topics`),
    recentIngestRuns(db, 1),
  ]);
  return {
    subscribers,
    digests,
    papers: toInt(counts.rows[0]?.papers),
    topics: toInt(counts.rows[0]?.topics),
    lastIngest: runs[0] ?? null,
  };
}

/**
 * Puts a failed digest back in the queue: status queued, attempts and error cleared.
 * Only a digest that is failed right now moves (a second click finds nothing), so
 * the caller enqueues it only when this returns true.
 */
export async function requeueFailedDigest(db: Db, digestId: number): Promise<boolean> {
  const { rows } = await db.execute<{ id: string }>(sql`
    update digests set status = 'queued', attempts = 0, error = null, claimed_at = null, updated_at = now()
    where id = ${digestId} and status = 'failed' returning id::text`);
  return rows.length > 0;
}
