import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { addPaper, addSubscriber, digestPapersOf, digestsOf, matchDatabase } from "./match-fixtures.js";

/** Listing days are UTC dates here; a daily UTC subscriber with send hour 8. */
const D1 = "2026-11-26";
const D2 = "2026-11-27";
const D3 = "2026-11-28";
const at = (day: string, hour = 9) => new Date(`${day}T${String(hour).padStart(2, "0")}:00:00Z`);

describe("trending digests", () => {
  const tdb = matchDatabase();

  async function papersOfDigest(subscriberId: number, period: string) {
    const digest = (await digestsOf(tdb.db, subscriberId)).find((d) => d.period === period);
    expect(digest, `digest for ${period}`).toBeDefined();
    return digestPapersOf(tdb.db, digest!.id);
  }

  it("without topics: the ended listing day's top N by upvotes, ties to the more recent paper, the day in progress left for tomorrow", async () => {
    await addPaper(tdb.db, { title: "Middling", upvotes: 40, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    await addPaper(tdb.db, { title: "Tied older", upvotes: 90, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z`, publishedAt: `${D1}T01:00:00Z` });
    await addPaper(tdb.db, { title: "Tied newer", upvotes: 90, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z`, publishedAt: `${D1}T05:00:00Z` });
    await addPaper(tdb.db, { title: "Best", upvotes: 212, listingDay: D1, firstSeenAt: `${D1}T07:00:00Z` });
    await addPaper(tdb.db, { title: "Quiet", upvotes: 1, listingDay: D1, firstSeenAt: `${D1}T07:00:00Z` });
    // Today's list is still filling at 09:00: it belongs to tomorrow's digest.
    await addPaper(tdb.db, { title: "Early bird of D2", upvotes: 500, listingDay: D2, firstSeenAt: `${D2}T03:00:00Z` });
    const id = await addSubscriber(tdb.db, { topics: [], maxPapers: 4 });

    await planDigests(tdb.db, { now: at(D2) });
    const papers = await papersOfDigest(id, D2);
    expect(papers.map((p) => p.title)).toEqual(["Best", "Tied newer", "Tied older", "Middling"]);
    expect(papers.map((p) => p.trending)).toEqual([212, 90, 90, 40]);
    expect(papers.every((p) => p.matched_topics.length === 0)).toBe(true);

    // The next day: D2 has ended, and the upvotes at planning time rank it.
    await addPaper(tdb.db, { title: "Late riser of D2", upvotes: 10, listingDay: D2, firstSeenAt: `${D2}T20:00:00Z` });
    await tdb.db.execute(sql`update papers set upvotes = 900 where title = 'Late riser of D2'`);
    await planDigests(tdb.db, { now: at(D3) });
    expect((await papersOfDigest(id, D3)).map((p) => [p.title, p.trending])).toEqual([
      ["Late riser of D2", 900],
      ["Early bird of D2", 500],
    ]);
  });

  it("covers only listing days that have ended in the listing zone (INGEST_TZ)", async () => {
    await addPaper(tdb.db, { title: "Day before", upvotes: 5, listingDay: "2026-11-25", firstSeenAt: "2026-11-25T06:00:00Z" });
    await addPaper(tdb.db, { title: "D1 paper", upvotes: 50, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    const id = await addSubscriber(tdb.db, { topics: [], sendHour: 5 });
    // 05:00 UTC on D2 is 21:00 on D1 in Los Angeles: D1 is still filling there.
    await planDigests(tdb.db, { now: at(D2, 5), listingTimeZone: "America/Los_Angeles" });
    expect((await papersOfDigest(id, D2)).map((p) => p.title)).toEqual(["Day before"]);
    await tdb.db.execute(sql`delete from digests`);
    await planDigests(tdb.db, { now: at(D2, 5), listingTimeZone: "UTC" });
    expect((await papersOfDigest(id, D2)).map((p) => p.title)).toEqual(["D1 paper"]);
  });

  it("with topics and 'also add trending': matches first, then the top 3 trending that are not among them, each saying why", async () => {
    await addPaper(tdb.db, { title: "Diffusion models for proteins", upvotes: 300, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    await addPaper(tdb.db, { title: "Diffusion distillation", upvotes: 2, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    for (const [title, upvotes] of [["Agents A", 250], ["Agents B", 120], ["Agents C", 80], ["Agents D", 60]] as const) {
      await addPaper(tdb.db, { title, upvotes, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    }
    const mixed = await addSubscriber(tdb.db, { topics: ["Diffusion"], addTrending: true });
    const plain = await addSubscriber(tdb.db, { topics: ["Diffusion"] });

    await planDigests(tdb.db, { now: at(D2) });
    const papers = await papersOfDigest(mixed, D2);
    expect(papers.map((p) => [p.title, p.matched_topics, p.trending])).toEqual([
      ["Diffusion models for proteins", ["Diffusion"], null],
      ["Diffusion distillation", ["Diffusion"], null],
      ["Agents A", [], 250],
      ["Agents B", [], 120],
      ["Agents C", [], 80],
    ]);
    // Topic digests stay exactly as they were.
    expect((await papersOfDigest(plain, D2)).map((p) => p.title)).toEqual(["Diffusion models for proteins", "Diffusion distillation"]);
  });

  it("never sends a paper twice across days: yesterday's topic match is not today's trending pick", async () => {
    // D1 is still in progress at 09:00 on D1: the topic digest (first seen window) takes its early paper.
    await addPaper(tdb.db, { title: "Diffusion early", upvotes: 999, listingDay: D1, firstSeenAt: `${D1}T06:00:00Z` });
    await addPaper(tdb.db, { title: "Older trending", upvotes: 7, listingDay: "2026-11-25", firstSeenAt: "2026-11-25T06:00:00Z" });
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"], addTrending: true });
    await planDigests(tdb.db, { now: at(D1) });
    expect((await papersOfDigest(id, D1)).map((p) => p.title)).toEqual(["Diffusion early", "Older trending"]);

    await addPaper(tdb.db, { title: "Later the same day", upvotes: 3, listingDay: D1, firstSeenAt: `${D1}T15:00:00Z` });
    await planDigests(tdb.db, { now: at(D2) });
    // D1 has ended: its top paper is trending, but this subscriber already had it.
    expect((await papersOfDigest(id, D2)).map((p) => [p.title, p.trending])).toEqual([["Later the same day", 3]]);

    // A trending subscriber whose covered days overlap (their previous digest's window
    // ended early, e.g. planned before a switch to weekly) also never gets a paper twice.
    const other = await addSubscriber(tdb.db, { topics: [] });
    await planDigests(tdb.db, { now: at(D2, 10) });
    expect((await papersOfDigest(other, D2)).map((p) => p.title)).toEqual(["Diffusion early", "Later the same day"]);
    await tdb.db.execute(sql`update digests set covers_to = ${`${D1}T00:00:00Z`}::timestamptz where subscriber_id = ${other}`);
    await addPaper(tdb.db, { title: "D2 paper", upvotes: 1, listingDay: D2, firstSeenAt: `${D2}T06:00:00Z` });
    await planDigests(tdb.db, { now: at(D3) });
    expect((await papersOfDigest(other, D3)).map((p) => p.title)).toEqual(["D2 paper"]);
  });

  it("records an empty trending digest when the covered days have no papers", async () => {
    const id = await addSubscriber(tdb.db, { topics: [] });
    const summary = await planDigests(tdb.db, { now: at(D2) });
    expect(summary.empty).toBe(1);
    expect((await digestsOf(tdb.db, id))[0]?.status).toBe("empty");
  });
});
