/**
 * Times as a subscriber reads them: in their own zone, in words ("Sun 29 Nov, 08:00"),
 * never the server's UTC.
 */

const cache = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string, withTime: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${withTime}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone,
      weekday: "short",
      day: "numeric",
      month: "short",
      ...(withTime ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" } : {}),
    });
    cache.set(key, f);
  }
  return f;
}

/** "Sun 29 Nov, 08:00" on the wall clock of `timeZone` (UTC if the zone is unknown here). */
export function atInZone(instant: Date | string, timeZone: string): string {
  const d = typeof instant === "string" ? new Date(instant) : instant;
  try {
    return format(timeZone, true).format(d);
  } catch {
    return `${format("UTC", true).format(d)} UTC`;
  }
}

/** "Fri 27 Nov" for a calendar date (YYYY-MM-DD), which has no zone. */
export function calendarDay(date: string): string {
  return format("UTC", false).format(new Date(`${date}T12:00:00Z`));
}

/** "08:00" for a send hour. */
export function hourOfDay(hour: number): string {
  return `${String(hour).padStart(2, "0")}:00`;
}
