import { describe, expect, it } from "vitest";
import { asc, desc, eq } from "drizzle-orm";
import { ingestRuns } from "../../src/db/schema.js";
import { ingestDay } from "../../src/papers/ingest.js";
import { createSource } from "../../src/papers/sources/index.js";
import { hfEntry, hfSample, ingestHarness, sourcesConfig } from "../helpers/papers.js";

const DAY = "2026-11-27";
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("ingest from Hugging Face Daily Papers", () => {
  const h = ingestHarness();

  const hf = (pageSize = 100) =>
    createSource("huggingface", { config: sourcesConfig(h.server.url, h.server.url), clock: h.clock, hfPageSize: pageSize });
  const { deps, rows, log } = h;
  const lastRun = async () => (await h.database.db.select().from(ingestRuns).orderBy(desc(ingestRuns.id)).limit(1))[0];

  it("pages with limit and p until a short page, and stores every paper once", async () => {
    const all = ["2611.00001", "2611.00002", "2611.00003", "2611.00004", "2611.00005"].map((id) => hfEntry(id));
    h.server.route("/api/daily_papers", (url) => {
      const limit = Number(url.searchParams.get("limit"));
      const page = Number(url.searchParams.get("p"));
      return json(all.slice(page * limit, page * limit + limit));
    });
    const run = await ingestDay(deps(), hf(2), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 5, inserted: 5, updated: 0, skipped: 0 });
    expect(h.server.requests.map((u) => [u.searchParams.get("date"), u.searchParams.get("limit"), u.searchParams.get("p")])).toEqual([
      [DAY, "2", "0"],
      [DAY, "2", "1"],
      [DAY, "2", "2"],
    ]);
    expect((await rows()).map((r) => r.arxivId)).toEqual(["2611.00001", "2611.00002", "2611.00003", "2611.00004", "2611.00005"]);
    expect(await lastRun()).toMatchObject({ source: "huggingface", day: DAY, status: "succeeded", fetched: 5, inserted: 5, error: null });
  });

  it("stops paging when the API answers every page alike", async () => {
    h.server.route("/api/daily_papers", json([hfEntry("2611.00006"), hfEntry("2611.00007")]));
    const run = await ingestDay(deps(), hf(2), DAY);
    expect(run).toMatchObject({ status: "succeeded", inserted: 2 });
    expect(h.server.requests).toHaveLength(2);
  });

  it("maps every field of the recorded response, optional ones included", async () => {
    h.server.route("/api/daily_papers", json(hfSample()));
    await ingestDay(deps(), hf(), DAY);
    const byId = Object.fromEntries((await rows()).map((r) => [r.arxivId, r]));
    expect(byId["2510.99901"]).toMatchObject({
      title: "Sparse Retrieval Heads: Locating and Steering Long-Context Recall in Decoder-Only Transformers",
      authors: ["Mira Castellanos", "Jonas Ebert", "Priya Raman"],
      upvotes: 87,
      listingDay: DAY,
      publishedAt: new Date("2025-10-28T17:59:12.000Z"),
      arxivUrl: "https://arxiv.org/abs/2510.99901",
      pdfUrl: "https://arxiv.org/pdf/2510.99901",
      hfUrl: "https://huggingface.co/papers/2510.99901",
      githubRepo: "https://github.com/mcastellanos/retrieval-heads",
      projectPage: "https://mcastellanos.github.io/retrieval-heads/",
      aiSummary: expect.stringContaining("A small set of attention heads") as unknown,
      categories: [],
      sources: ["huggingface"],
    });
    expect(byId["2510.99901"]?.abstract).toMatch(/^Long-context language models .* probing datasets\.$/);
    expect(byId["2510.99901"]?.aiKeywords).toContain("needle-in-a-haystack");
    // No project page, no repo: absent fields stay empty rather than failing the entry.
    expect(byId["2510.99874"]).toMatchObject({ projectPage: null, githubRepo: null, upvotes: 31 });
    expect(byId["2510.99632"]).toMatchObject({ projectPage: null, githubRepo: "https://github.com/lbrandt/budget-aware-tools" });
  });

  it("keeps titles and abstracts exactly, apart from line breaks", async () => {
    h.server.route(
      "/api/daily_papers",
      json([
        hfEntry("2611.00010", {
          title: "  Sorting in $O(n\\log n)$ with <tags> & Ψ-codecs —\n  revisited ",
          summary: "We show $\\alpha < \\beta$ & more:\n naïve bounds.",
          ai_keywords: null,
          githubRepo: "javascript:alert(1)",
        }),
      ]),
    );
    await ingestDay(deps(), hf(), DAY);
    const [row] = await rows();
    expect(row?.title).toBe("Sorting in $O(n\\log n)$ with <tags> & Ψ-codecs — revisited");
    expect(row?.abstract).toBe("We show $\\alpha < \\beta$ & more: naïve bounds.");
    expect(row?.aiKeywords).toEqual([]);
    // Only http(s) links are kept: they end up in emails.
    expect(row?.githubRepo).toBeNull();
  });

  it("skips malformed entries, logs them by id, and stores the rest", async () => {
    h.server.route(
      "/api/daily_papers",
      json([
        hfEntry("2611.00020"),
        { paper: { title: "no id", summary: "x", authors: [] } },
        hfEntry("2611.00021", { upvotes: "many" }),
        hfEntry("not-an-arxiv-id"),
        hfEntry("2611.00022", { title: 42 }),
        "garbage",
        hfEntry("2611.00023v2"),
      ]),
    );
    const run = await ingestDay(deps(), hf(), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 7, inserted: 2, skipped: 5 });
    expect((await rows()).map((r) => r.arxivId)).toEqual(["2611.00020", "2611.00023"]);
    expect(await lastRun()).toMatchObject({ status: "succeeded", fetched: 7, inserted: 2, skipped: 5 });
    const skipped = log.lines().filter((l) => l.msg === "skipped an invalid paper entry");
    expect(skipped.map((l) => l.paperId)).toEqual(expect.arrayContaining(["2611.00021", "not-an-arxiv-id", "2611.00022", null]));
    expect(skipped.find((l) => l.paperId === "2611.00021")?.reason).toMatch(/upvotes/);
  });

  it("retries a 429 after the Retry-After the server asked for, then succeeds", async () => {
    h.server.route("/api/daily_papers", [
      { status: 429, headers: { "retry-after": "7", "content-type": "text/plain" }, body: "slow down" },
      json([hfEntry("2611.00030")]),
    ]);
    const run = await ingestDay(deps(), hf(), DAY);
    expect(run).toMatchObject({ status: "succeeded", inserted: 1 });
    expect(h.server.requests).toHaveLength(2);
    expect(h.clock.sleeps).toEqual([7000]);
  });

  it("gives up after three 500s with exponential backoff, records the failure and writes nothing", async () => {
    h.server.route("/api/daily_papers", { status: 500, headers: { "content-type": "text/plain" }, body: "upstream broke" });
    const run = await ingestDay(deps(), hf(), DAY);
    expect(run.status).toBe("failed");
    expect(h.server.requests).toHaveLength(3);
    expect(h.clock.sleeps).toEqual([1000, 2000]);
    expect(await rows()).toEqual([]);
    const recorded = await lastRun();
    expect(recorded).toMatchObject({ source: "huggingface", day: DAY, status: "failed", inserted: 0 });
    expect(recorded?.error).toMatch(/^huggingface: GET .*\/api\/daily_papers\?date=2026-11-27.* answered 500.*gave up after 3 attempts/);
    expect(recorded?.finishedAt).toBeInstanceOf(Date);
    expect(recorded?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("fails the run clearly on an HTML error page, and leaves earlier pages unwritten", async () => {
    h.server.route("/api/daily_papers", (url) =>
      url.searchParams.get("p") === "0"
        ? json([hfEntry("2611.00040"), hfEntry("2611.00041")])
        : { status: 200, headers: { "content-type": "text/html" }, body: "<!DOCTYPE html><html><head><title>Hugging Face – Maintenance</title></head><body>back soon</body></html>" },
    );
    const run = await ingestDay(deps(), hf(2), DAY);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^huggingface: expected JSON from GET .*p=1.*, got an HTML page \("Hugging Face – Maintenance"\)/);
    expect(await rows()).toEqual([]);
    expect((await lastRun())?.status).toBe("failed");
  });

  it("fails the run clearly on truncated JSON and on a JSON document of the wrong shape", async () => {
    h.server.route("/api/daily_papers", { status: 200, body: JSON.stringify([hfEntry("2611.00050")]).slice(0, 60) });
    const truncated = await ingestDay(deps(), hf(), DAY);
    expect(truncated.error).toMatch(/^huggingface: GET .* returned invalid JSON .*truncated\?/);
    h.server.route("/api/daily_papers", json({ error: "Invalid date" }));
    const wrong = await ingestDay(deps(), hf(), DAY);
    expect(wrong.error).toMatch(/^huggingface: expected a JSON array of daily papers .*got object/);
    expect(await rows()).toEqual([]);
    const runs = await h.database.db.select().from(ingestRuns).where(eq(ingestRuns.status, "failed"));
    expect(runs).toHaveLength(2);
  });

  it("does not retry a 404 and gives up on a request that times out", async () => {
    h.server.route("/api/daily_papers", { status: 404, headers: { "content-type": "text/plain" }, body: "nope" });
    const missing = await ingestDay(deps(), hf(), DAY);
    expect(missing.error).toMatch(/answered 404/);
    expect(h.server.requests).toHaveLength(1);

    h.server.route("/api/daily_papers", { ...json([]), delayMs: 1000 });
    const slow = createSource("huggingface", { config: { ...sourcesConfig(h.server.url, h.server.url), HTTP_TIMEOUT_MS: 100 }, clock: h.clock, maxAttempts: 2 });
    const timedOut = await ingestDay(deps(), slow, DAY);
    expect(timedOut.error).toMatch(/timed out after 100 ms \(gave up after 2 attempts\)/);
  });

  it("records a day without papers as a normal run", async () => {
    h.server.route("/api/daily_papers", json([]));
    const run = await ingestDay(deps(), hf(), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 0, inserted: 0 });
    expect(await lastRun()).toMatchObject({ status: "succeeded", fetched: 0, error: null });
  });

  it("is idempotent: the same day twice keeps the rows, refreshes upvotes and keeps first_seen_at", async () => {
    const entries = [hfEntry("2611.00060", { upvotes: 3 }), hfEntry("2611.00061", { upvotes: 9, ai_keywords: ["mamba"] })];
    h.server.route("/api/daily_papers", json(entries));
    const first = await ingestDay(deps(), hf(), DAY);
    expect(first).toMatchObject({ inserted: 2, updated: 0, unchanged: 0 });
    const before = await rows();

    const again = await ingestDay(deps(), hf(), DAY);
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await rows()).toEqual(before);

    h.server.route("/api/daily_papers", json([hfEntry("2611.00060", { upvotes: 40 }), entries[1]]));
    const refreshed = await ingestDay(deps(), hf(), DAY);
    expect(refreshed).toMatchObject({ inserted: 0, updated: 1, unchanged: 1 });
    const after = await rows();
    expect(after.map((r) => [r.arxivId, r.upvotes])).toEqual([
      ["2611.00060", 40],
      ["2611.00061", 9],
    ]);
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(after.map((r) => r.firstSeenAt)).toEqual(before.map((r) => r.firstSeenAt));
    expect(after[0]?.updatedAt.getTime()).toBeGreaterThan(before[0]?.updatedAt.getTime() ?? Infinity);
    expect(after[1]?.updatedAt).toEqual(before[1]?.updatedAt);
    const counted = await h.database.db.select().from(ingestRuns).orderBy(asc(ingestRuns.id));
    expect(counted.map((r) => [r.inserted, r.updated])).toEqual([
      [2, 0],
      [0, 0],
      [0, 1],
    ]);
  });
});
