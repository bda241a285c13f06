import { describe, expect, it } from "vitest";
import { instantAtLocal, isKnownTimeZone, localTime, nextSend, type Schedule } from "../../src/digests/schedule.js";

const daily = (timezone: string, sendHour = 8): Schedule => ({ timezone, sendHour, frequency: "daily", weekday: 1 });
const none = () => false;
/** The period due at `now` with no digest yet, as the status page and the planner see it. */
const duePeriod = (schedule: Schedule, now: Date) => {
  const next = nextSend(schedule, now, none);
  return next.dueNow ? next.period : null;
};

describe("schedule: local send times", () => {
  it("reads the local date a day ahead in UTC+14 and a day behind in UTC−12", () => {
    const instant = new Date("2026-11-26T20:00:00Z");
    expect(localTime(instant, "Pacific/Kiritimati")).toMatchObject({ date: "2026-11-27", hour: 10, isoWeekday: 5 });
    expect(localTime(instant, "Etc/GMT+12")).toMatchObject({ date: "2026-11-26", hour: 8, isoWeekday: 4 });
  });

  it("is due from the send hour on, for the local date", () => {
    expect(duePeriod(daily("Pacific/Kiritimati"), new Date("2026-11-26T17:59:00Z"))).toBeNull();
    expect(duePeriod(daily("Pacific/Kiritimati"), new Date("2026-11-26T18:00:00Z"))).toBe("2026-11-27");
    expect(duePeriod(daily("Etc/GMT+12"), new Date("2026-11-27T19:59:00Z"))).toBeNull();
    expect(duePeriod(daily("Etc/GMT+12"), new Date("2026-11-27T20:00:00Z"))).toBe("2026-11-27");
  });

  it("is due for weekly subscribers only on their weekday", () => {
    const wednesday: Schedule = { timezone: "UTC", sendHour: 9, frequency: "weekly", weekday: 3 };
    expect(duePeriod(wednesday, new Date("2026-11-24T12:00:00Z"))).toBeNull();
    expect(duePeriod(wednesday, new Date("2026-11-25T12:00:00Z"))).toBe("2026-11-25");
    expect(duePeriod(wednesday, new Date("2026-11-26T12:00:00Z"))).toBeNull();
  });

  it("converts a local send hour to an instant across DST changes", () => {
    expect(instantAtLocal("2026-10-31", 8, "America/New_York").toISOString()).toBe("2026-10-31T12:00:00.000Z");
    expect(instantAtLocal("2026-11-01", 8, "America/New_York").toISOString()).toBe("2026-11-01T13:00:00.000Z");
    // 01:00 happens twice on 1 Nov in New York: the first one counts.
    expect(instantAtLocal("2026-11-01", 1, "America/New_York").toISOString()).toBe("2026-11-01T05:00:00.000Z");
    // 02:00 does not exist on 29 Mar in Berlin: the first instant after the gap (03:00 CEST).
    expect(instantAtLocal("2026-03-29", 2, "Europe/Berlin").toISOString()).toBe("2026-03-29T01:00:00.000Z");
    expect(instantAtLocal("2026-11-27", 8, "Pacific/Kiritimati").toISOString()).toBe("2026-11-26T18:00:00.000Z");
    expect(instantAtLocal("2026-11-27", 0, "Etc/GMT+12").toISOString()).toBe("2026-11-27T12:00:00.000Z");
  });

  it("gives the next send: later today, due now, or the next period start", () => {
    const ny = daily("America/New_York");
    expect(nextSend(ny, new Date("2026-11-01T10:00:00Z"), none)).toEqual({
      period: "2026-11-01",
      at: new Date("2026-11-01T13:00:00Z"),
      dueNow: false,
    });
    expect(nextSend(ny, new Date("2026-11-01T14:00:00Z"), none)).toMatchObject({ period: "2026-11-01", dueNow: true });
    expect(nextSend(ny, new Date("2026-11-01T14:00:00Z"), (p) => p === "2026-11-01")).toEqual({
      period: "2026-11-02",
      at: new Date("2026-11-02T13:00:00Z"),
      dueNow: false,
    });
    const sunday: Schedule = { timezone: "Pacific/Kiritimati", sendHour: 6, frequency: "weekly", weekday: 7 };
    expect(nextSend(sunday, new Date("2026-11-26T00:00:00Z"), none)).toEqual({
      period: "2026-11-29",
      at: new Date("2026-11-28T16:00:00Z"),
      dueNow: false,
    });
  });

  it("knows real IANA zones and refuses made-up ones", () => {
    expect(isKnownTimeZone("Pacific/Kiritimati")).toBe(true);
    expect(isKnownTimeZone("Mars/Olympus_Mons")).toBe(false);
  });
});
