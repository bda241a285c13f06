import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { addPaper, addSubscriber, digestsOf, matchDatabase } from "./match-fixtures.js";

const hours = (fromIso: string, toIso: string) => {
  const out: Date[] = [];
  for (let t = Date.parse(fromIso); t <= Date.parse(toIso); t += 3_600_000) out.push(new Date(t));
  return out;
};

describe("plan: who is due when", () => {
  const tdb = matchDatabase();
  beforeEach(async () => {
    await addPaper(tdb.db, { title: "Diffusion everywhere", listingDay: "2026-03-01", firstSeenAt: "2026-03-01T00:00:00Z" });
  });

  /**
   * Runs the planner every hour between two instants; for each subscriber, the UTC hour
   * each of their digests was created at, by period. The first hour catches up a local
   * day whose send hour has already passed, as a newly started planner would.
   */
  async function planHourly(subscriberIds: number[], fromIso: string, toIso: string): Promise<Record<string, string>[]> {
    const createdAt: Record<string, string>[] = subscriberIds.map(() => ({}));
    for (const now of hours(fromIso, toIso)) {
      await planDigests(tdb.db, { now });
      const { rows } = await tdb.db.execute<{ subscriber_id: number; period: string }>(
        sql`select subscriber_id, to_char(period, 'YYYY-MM-DD') as period from digests`,
      );
      for (const r of rows) {
        const seen = createdAt[subscriberIds.indexOf(Number(r.subscriber_id))];
        if (seen && !(r.period in seen)) seen[r.period] = now.toISOString().slice(0, 13);
      }
    }
    return createdAt;
  }

  it("plans at the send hour in UTC+14 (Pacific/Kiritimati), a local day ahead of UTC", async () => {
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Pacific/Kiritimati", sendHour: 8 });
    await planDigests(tdb.db, { now: new Date("2026-11-26T17:59:00Z") });
    expect(await digestsOf(tdb.db, id)).toEqual([]);
    await planDigests(tdb.db, { now: new Date("2026-11-26T18:00:00Z") });
    expect(await digestsOf(tdb.db, id)).toMatchObject([{ period: "2026-11-27", status: "queued", paper_count: 1 }]);
  });

  it("plans at the send hour in UTC−12 (Etc/GMT+12), a local day behind", async () => {
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Etc/GMT+12", sendHour: 8 });
    await planDigests(tdb.db, { now: new Date("2026-11-27T19:00:00Z") });
    expect(await digestsOf(tdb.db, id)).toEqual([]);
    await planDigests(tdb.db, { now: new Date("2026-11-27T20:00:00Z") });
    expect(await digestsOf(tdb.db, id)).toMatchObject([{ period: "2026-11-27" }]);
  });

  it("gives the two extreme zones different local dates at the same instant, one digest per local day", async () => {
    const east = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Pacific/Kiritimati", sendHour: 8 });
    const west = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Etc/GMT+12", sendHour: 8 });
    expect(await planHourly([east, west], "2026-11-26T12:00:00Z", "2026-11-28T23:00:00Z")).toEqual([
      { "2026-11-27": "2026-11-26T18", "2026-11-28": "2026-11-27T18", "2026-11-29": "2026-11-28T18" },
      { "2026-11-26": "2026-11-26T20", "2026-11-27": "2026-11-27T20", "2026-11-28": "2026-11-28T20" },
    ]);
  });

  it("follows the local send hour across the autumn DST change (America/New_York, 1 Nov 2026)", async () => {
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "America/New_York", sendHour: 8 });
    expect(await planHourly([id], "2026-10-31T06:00:00Z", "2026-11-02T18:00:00Z")).toEqual([{
      "2026-10-31": "2026-10-31T12", // 08:00 EDT = UTC−4
      "2026-11-01": "2026-11-01T13", // 08:00 EST = UTC−5, the day the clocks go back
      "2026-11-02": "2026-11-02T13",
    }]);
  });

  it("still sends on the spring DST day when the send hour does not exist locally (Europe/Berlin, 29 Mar 2026)", async () => {
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Europe/Berlin", sendHour: 2 });
    expect(await planHourly([id], "2026-03-28T00:00:00Z", "2026-03-30T06:00:00Z")).toEqual([{
      "2026-03-28": "2026-03-28T01", // 02:00 CET = UTC+1
      "2026-03-29": "2026-03-29T01", // 02:00 is skipped; 03:00 CEST is the first hour past it
      "2026-03-30": "2026-03-30T00", // 02:00 CEST = UTC+2
    }]);
  });

  it("plans weekly subscribers on their weekday only", async () => {
    const wed = await addSubscriber(tdb.db, { topics: ["diffusion"], frequency: "weekly", weekday: 3, sendHour: 9 });
    const sunKiritimati = await addSubscriber(tdb.db, {
      topics: ["diffusion"],
      frequency: "weekly",
      weekday: 7,
      sendHour: 6,
      timezone: "Pacific/Kiritimati",
    });
    for (let day = 23; day <= 30; day++) {
      for (const hour of [0, 9, 16, 23]) {
        await planDigests(tdb.db, { now: new Date(Date.UTC(2026, 10, day, hour)) });
      }
    }
    expect((await digestsOf(tdb.db, wed)).map((d) => d.period)).toEqual(["2026-11-25"]);
    // Sunday 29 Nov 06:00 in UTC+14 is Saturday 28 Nov 16:00 UTC.
    expect((await digestsOf(tdb.db, sunKiritimati)).map((d) => d.period)).toEqual(["2026-11-29"]);
  });

  it("plans only active subscribers who have not paused", async () => {
    const active = await addSubscriber(tdb.db, { topics: ["diffusion"] });
    const paused = await addSubscriber(tdb.db, { topics: ["diffusion"], paused: true });
    const pending = await addSubscriber(tdb.db, { topics: ["diffusion"], status: "pending" });
    const gone = await addSubscriber(tdb.db, { topics: ["diffusion"], status: "unsubscribed" });
    const summary = await planDigests(tdb.db, { now: new Date("2026-11-26T09:00:00Z") });
    expect(summary).toMatchObject({ scanned: 1, due: 1, created: 1, withPapers: 1, papers: 1 });
    expect(await digestsOf(tdb.db, active)).toHaveLength(1);
    for (const id of [paused, pending, gone]) expect(await digestsOf(tdb.db, id)).toEqual([]);
  });

  it("skips a subscriber whose time zone Postgres does not know, without failing the others", async () => {
    const ok = await addSubscriber(tdb.db, { topics: ["diffusion"] });
    const bad = await addSubscriber(tdb.db, { topics: ["diffusion"], timezone: "Mars/Olympus_Mons" });
    const summary = await planDigests(tdb.db, { now: new Date("2026-11-26T09:00:00Z"), chunkSize: 1 });
    expect(summary).toMatchObject({ scanned: 2, unknownZone: 1, created: 1 });
    expect(await digestsOf(tdb.db, ok)).toHaveLength(1);
    expect(await digestsOf(tdb.db, bad)).toEqual([]);
  });

  it("creates each digest once when run twice, and when two planners run at the same time", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push(await addSubscriber(tdb.db, { topics: ["diffusion", `topic ${i % 7}`] }));
    const now = new Date("2026-11-26T09:00:00Z");
    // Two planners on two pool connections, small chunks so their transactions interleave.
    const [a, b] = await Promise.all([planDigests(tdb.db, { now, chunkSize: 7 }), planDigests(tdb.db, { now, chunkSize: 5 })]);
    expect(a.created + b.created).toBe(60);
    expect(a.papers + b.papers).toBe(60);
    expect(new Set([...a.queuedDigestIds, ...b.queuedDigestIds]).size).toBe(60);
    const again = await planDigests(tdb.db, { now: new Date("2026-11-26T10:00:00Z") });
    expect(again).toMatchObject({ scanned: 60, due: 0, created: 0, queuedDigestIds: [] });
    const { rows } = await tdb.db.execute<{ digests: number; papers: number; subscribers: number }>(
      sql`select count(*)::int as digests, coalesce(sum(cardinality(paper_ids)), 0)::int as papers,
                 count(distinct subscriber_id)::int as subscribers from digests`,
    );
    expect(rows[0]).toEqual({ digests: 60, papers: 60, subscribers: 60 });
  });

  it("pages through subscribers in chunks without skipping or repeating any", async () => {
    for (let i = 0; i < 23; i++) await addSubscriber(tdb.db, { topics: ["diffusion"] });
    const queued: number[][] = [];
    const summary = await planDigests(tdb.db, {
      now: new Date("2026-11-26T09:00:00Z"),
      chunkSize: 5,
      onQueued: async (digestIds) => {
        queued.push(digestIds);
      },
    });
    expect(summary).toMatchObject({ scanned: 23, due: 23, created: 23 });
    expect(queued.map((q) => q.length).sort()).toEqual([3, 5, 5, 5, 5]);
    expect(new Set(queued.flat()).size).toBe(23);
  });
});
