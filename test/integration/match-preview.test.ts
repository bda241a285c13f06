import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { addPaper } from "./match-fixtures.js";

describe("GET /api/preview", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
    await addPaper(rt.db, { title: "Diffusion models for video", upvotes: 3, listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
    await addPaper(rt.db, {
      title: "Robot grasping",
      abstract: "A diffusion policy, briefly.",
      upvotes: 400,
      listingDay: "2026-11-26",
      firstSeenAt: "2026-11-26T06:00:00Z",
    });
    await addPaper(rt.db, { title: "Mamba for reasoning", listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
    await addPaper(rt.db, { title: "Older diffusion paper", listingDay: "2026-11-25", firstSeenAt: "2026-11-25T06:00:00Z" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const get = async (query: string, ip = "203.0.113.1") =>
    (await rt.app()).inject({ method: "GET", url: `/api/preview?${query}`, remoteAddress: ip });

  it("shows what the topics match on the latest listing day, scored and ordered like a digest", async () => {
    const res = await get("topics=diffusion");
    expect(res.statusCode).toBe(200);
    const body = res.json<{ day: string; count: number; papers: { title: string; score: number; matchedWords: string[]; matchedTopics: string[] }[] }>();
    expect(body.day).toBe("2026-11-26");
    expect(body.count).toBe(2);
    expect(body.papers.map((p) => p.title)).toEqual(["Diffusion models for video", "Robot grasping"]);
    expect(body.papers[0]!.score).toBeGreaterThan(body.papers[1]!.score);
    expect(body.papers[0]).toMatchObject({ matchedTopics: ["diffusion"], matchedWords: ["diffus"] });
  });

  it("takes topics repeated or one per line, and another day with `date`", async () => {
    const repeated = await get("topics=mamba&topics=Diffusion%20Models");
    const lines = await get(`topics=${encodeURIComponent("mamba\r\nDiffusion Models\n\n")}`);
    for (const res of [repeated, lines]) {
      expect(res.statusCode).toBe(200);
      expect(res.json<{ papers: { title: string; matchedTopics: string[] }[] }>().papers).toEqual([
        expect.objectContaining({ title: "Diffusion models for video", matchedTopics: ["Diffusion Models"] }),
        expect.objectContaining({ title: "Mamba for reasoning", matchedTopics: ["mamba"] }),
      ]);
    }
    const older = await get("topics=diffusion&date=2026-11-25");
    expect(older.json()).toMatchObject({ day: "2026-11-25", count: 1, papers: [{ title: "Older diffusion paper" }] });
  });

  it("refuses bad topics with 400 naming the field", async () => {
    const stop = await get(`topics=${encodeURIComponent("diffusion\nthe and of")}`);
    expect(stop.statusCode).toBe(400);
    expect(stop.json()).toMatchObject({ error: { code: "VALIDATION", field: "topics.1" } });
    expect(stop.json<{ error: { message: string } }>().error.message).toContain("the and of");

    const short = await get("topics=x");
    expect(short.json()).toMatchObject({ error: { code: "VALIDATION", field: "topics.0" } });
    const none = await get("topics=%20%0A");
    expect(none.json()).toMatchObject({ error: { code: "VALIDATION", field: "topics" } });
    const many = await get(Array.from({ length: 21 }, (_, i) => `topics=topic${i}`).join("&"));
    expect(many.json()).toMatchObject({ error: { code: "VALIDATION", field: "topics" } });
    const missing = await get("date=2026-11-25");
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: { field: "topics" } });
    const badDate = await get("topics=diffusion&date=2026-02-30");
    expect(badDate.json()).toMatchObject({ error: { code: "VALIDATION", field: "date" } });
  });

  it("answers an empty result when nothing has been ingested for that day", async () => {
    const res = await get("topics=diffusion&date=2020-01-01");
    expect(res.json()).toEqual({ day: "2020-01-01", count: 0, papers: [] });
  });

  it("is rate limited per IP", async () => {
    const ip = "198.51.100.7";
    // All 60 at once: the minute's window must not run out on a loaded machine before the limit is reached.
    const allowed = await Promise.all(Array.from({ length: 60 }, () => get("topics=mamba", ip)));
    expect(allowed.map((r) => r.statusCode)).toEqual(Array.from({ length: 60 }, () => 200));
    const last = await get("topics=mamba", ip);
    expect(last.statusCode).toBe(429);
    expect(last.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect((await get("topics=mamba", "198.51.100.8")).statusCode).toBe(200);
  });

  it("does not write anything", async () => {
    const { rows } = await rt.db.execute<{ n: number }>(sql`select count(*)::int as n from topics`);
    expect(rows[0]?.n).toBe(0);
  });
});
