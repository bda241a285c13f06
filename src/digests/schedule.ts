/**
 * Pure calendar logic for "when is a subscriber's next digest", in their IANA zone.
 * The planner asks Postgres the same question in SQL (`now at time zone tz`); this
 * module answers it for people (the manage page) and is unit-tested at the extremes.
 */
import { addDays, isoWeekday } from "../days.js";

export interface Schedule {
  timezone: string;
  /** 0–23, local wall-clock hour. */
  sendHour: number;
  frequency: "daily" | "weekly";
  /** ISO weekday, 1 = Monday … 7 = Sunday (weekly only). */
  weekday: number;
}

export interface LocalTime {
  /** YYYY-MM-DD */
  date: string;
  hour: number;
  minute: number;
  /** ISO weekday of `date`. */
  isoWeekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime's time-zone database knows `timeZone`. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `timeZone` at `instant`. */
export function localTime(instant: Date, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) parts[p.type] = p.value;
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return { date, hour: Number(parts.hour), minute: Number(parts.minute), isoWeekday: isoWeekday(date) };
}

/**
 * The first instant at which the wall clock in `timeZone` shows `date` at `hour`:00 or
 * later. On a spring-forward day when that hour does not exist, it is the first
 * instant after the gap (the planner sees "hour ≥ send hour" then too).
 */
export function instantAtLocal(date: string, hour: number, timeZone: string): Date {
  const target = Date.parse(`${date}T${String(hour).padStart(2, "0")}:00:00Z`);
  // Offsets are within ±14 h (plus the odd historic minute), so start 15 h early and
  // walk to the first whole-minute instant whose local time reaches the target.
  let guess = target - offsetMs(new Date(target), timeZone);
  // The offset at the guess may differ from the one at the target (a DST change between).
  guess = target - offsetMs(new Date(guess), timeZone);
  const reached = (t: number) => localMs(new Date(t), timeZone) >= target;
  if (!reached(guess)) {
    // Inside a gap: step forward until the wall clock jumps past the target.
    let t = guess;
    while (!reached(t)) t += 15 * 60_000;
    guess = t;
  }
  // Step back while an earlier instant also reaches it (a fall-back overlap picks the first).
  while (reached(guess - 15 * 60_000) && localMs(new Date(guess - 15 * 60_000), timeZone) < target + 3_600_000) {
    guess -= 15 * 60_000;
  }
  return new Date(guess);
}

function localMs(instant: Date, timeZone: string): number {
  const l = localTime(instant, timeZone);
  const seconds = instant.getUTCSeconds();
  return Date.parse(`${l.date}T${String(l.hour).padStart(2, "0")}:${String(l.minute).padStart(2, "0")}:00Z`) + seconds * 1000;
}

function offsetMs(instant: Date, timeZone: string): number {
  return localMs(instant, timeZone) - Math.floor(instant.getTime() / 1000) * 1000;
}

/** Whether `date` (a local date) starts a period for this schedule. */
function startsPeriod(schedule: Schedule, date: string): boolean {
  return schedule.frequency === "daily" || isoWeekday(date) === schedule.weekday;
}

export interface NextSend {
  /** The local date of the period the next digest is for. */
  period: string;
  /** When the subscriber's send hour comes for that period. */
  at: Date;
  /** True when that moment has passed and the digest waits for the next planner run. */
  dueNow: boolean;
}

/**
 * The next digest the planner will create at or after `now`, given which periods
 * already have a digest. A due period without a digest is "due now" (the hourly
 * planner picks it up); otherwise the next local date that starts a period.
 */
export function nextSend(schedule: Schedule, now: Date, hasDigest: (period: string) => boolean): NextSend {
  const today = localTime(now, schedule.timezone).date;
  for (let i = 0; i <= 8; i++) {
    const date = addDays(today, i);
    if (!startsPeriod(schedule, date) || hasDigest(date)) continue;
    const at = instantAtLocal(date, schedule.sendHour, schedule.timezone);
    if (i === 0 && at.getTime() <= now.getTime()) return { period: date, at, dueNow: true };
    return { period: date, at, dueNow: false };
  }
  // Unreachable: within 8 days every schedule has a period start without a digest.
  throw new Error("no period start within 8 days");
}
