/**
 * Days are plain calendar dates (YYYY-MM-DD), computed without local-time surprises:
 * listing days, digest periods, ranges for the CLI. The one home of date arithmetic.
 */
import { isCalendarDay } from "./input.js";

/** The shape of a day; isDay also checks that it is on the calendar. */
export const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date in the range a listing day can have (year 0000 is not one). */
export const isDay = isCalendarDay;

/** The calendar date of an instant in an IANA time zone. */
export function dayIn(instant: Date, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(instant);
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The ISO weekday of a day: 1 = Monday … 7 = Sunday. */
export function isoWeekday(day: string): number {
  const d = new Date(`${day}T00:00:00Z`).getUTCDay();
  return d === 0 ? 7 : d;
}

/** The Monday of the ISO week `day` is in. */
export const weekStart = (day: string): string => addDays(day, 1 - isoWeekday(day));

/** Every day from `from` to `to`, both included. */
export function dayRange(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * What a scheduled ingest covers: yesterday and today in the ingest time zone, so
 * late additions to yesterday's list (and its upvotes) are still picked up.
 */
export function recentDays(now: Date, timeZone: string): string[] {
  const today = dayIn(now, timeZone);
  return [addDays(today, -1), today];
}
