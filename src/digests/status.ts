import { sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { addDays } from "../days.js";
import { localTime, nextSend, type Schedule } from "./schedule.js";

export type DigestStatus = "queued" | "sending" | "sent" | "failed" | "bounced" | "empty" | "skipped";

export interface SendStatus {
  timezone: string;
  /** The subscriber's most recent digest of any status (an `empty` one explains a quiet day). */
  lastDigest: {
    period: string;
    status: DigestStatus;
    paperCount: number;
    /** When it was sent, or else the moment it was planned for (its covers_to), ISO. */
    at: string;
    sentAt: string | null;
  } | null;
  /** Null while the subscriber is not active or has paused. */
  nextSend: {
    period: string;
    /** ISO instant. */
    at: string;
    /** The same moment on the subscriber's wall clock, YYYY-MM-DDTHH:MM, in `timezone`. */
    atLocal: string;
    /** The send hour has come and the next hourly plan run will pick it up. */
    dueNow: boolean;
  } | null;
  /** The latest ingest run of any source, so "no papers came in" is visible. */
  lastIngest: {
    source: string;
    day: string;
    status: "running" | "succeeded" | "failed";
    startedAt: string;
    finishedAt: string | null;
    inserted: number;
    updated: number;
  } | null;
}

/**
 * What the manage page shows under "why did I get nothing?": the last digest, when the
 * next one is due in the subscriber's zone, and the last ingest run. Null if there is
 * no such subscriber.
 */
export async function subscriberSendStatus(db: Queryable, subscriberId: number, now: Date): Promise<SendStatus | null> {
  const subs = await db.execute<{
    status: string;
    paused: boolean;
    timezone: string;
    send_hour: number;
    frequency: "daily" | "weekly";
    weekday: number;
  }>(sql`select status, paused_at is not null as paused, timezone, send_hour, frequency, weekday from subscribers where id = ${subscriberId}`);
  const sub = subs.rows[0];
  if (!sub) return null;

  const last = await db.execute<{ period: string; status: DigestStatus; paper_count: number; created_at: string; sent_at: string | null }>(sql`
    select to_char(period, 'YYYY-MM-DD') as period, status, paper_count,
           to_json(covers_to) #>> '{}' as created_at, to_json(sent_at) #>> '{}' as sent_at
    from digests where subscriber_id = ${subscriberId}
    order by period desc limit 1`);
  const ingest = await db.execute<{
    source: string;
    day: string;
    status: "running" | "succeeded" | "failed";
    started_at: string;
    finished_at: string | null;
    inserted: number;
    updated: number;
  }>(sql`
    select source, to_char(day, 'YYYY-MM-DD') as day, status, to_json(started_at) #>> '{}' as started_at,
           to_json(finished_at) #>> '{}' as finished_at, inserted, updated
    from ingest_runs order by started_at desc, id desc limit 1`);

  let next: SendStatus["nextSend"] = null;
  if (sub.status === "active" && !sub.paused) {
    const schedule: Schedule = { timezone: sub.timezone, sendHour: sub.send_hour, frequency: sub.frequency, weekday: sub.weekday };
    let today: string;
    try {
      today = localTime(now, sub.timezone).date;
    } catch {
      today = "";
    }
    if (today) {
      const planned = await db.execute<{ period: string }>(sql`
        select to_char(period, 'YYYY-MM-DD') as period from digests
        where subscriber_id = ${subscriberId} and period between ${today}::date and ${addDays(today, 8)}::date`);
      const has = new Set(planned.rows.map((r) => r.period));
      const n = nextSend(schedule, now, (p) => has.has(p));
      const local = localTime(n.at, sub.timezone);
      next = {
        period: n.period,
        at: n.at.toISOString(),
        atLocal: `${local.date}T${String(local.hour).padStart(2, "0")}:${String(local.minute).padStart(2, "0")}`,
        dueNow: n.dueNow,
      };
    }
  }

  const d = last.rows[0];
  const i = ingest.rows[0];
  return {
    timezone: sub.timezone,
    lastDigest: d
      ? { period: d.period, status: d.status, paperCount: Number(d.paper_count), at: toIso(d.sent_at ?? d.created_at), sentAt: d.sent_at ? toIso(d.sent_at) : null }
      : null,
    nextSend: next,
    lastIngest: i
      ? {
          source: i.source,
          day: i.day,
          status: i.status,
          startedAt: toIso(i.started_at),
          finishedAt: i.finished_at ? toIso(i.finished_at) : null,
          inserted: Number(i.inserted),
          updated: Number(i.updated),
        }
      : null,
  };
}

/** Postgres' JSON timestamps carry an offset; callers get plain UTC ISO instants. */
function toIso(v: string): string {
  return new Date(v).toISOString();
}
