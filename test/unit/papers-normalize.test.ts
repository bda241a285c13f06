import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { addDays, dayIn, dayRange, isDay, recentDays } from "../../src/days.js";
import { createSpacingLimiter, parseRetryAfter } from "../../src/papers/http.js";
import { cleanText, normalizeArxivId, safeLink } from "../../src/papers/paper.js";
import { arxivQuery, parseArxivFeed } from "../../src/papers/sources/arxiv.js";
import { mapHfEntry } from "../../src/papers/sources/hf-shape.js";
import { arxivSample, fakeClock, hfSample } from "../helpers/papers.js";

describe("arXiv ids", () => {
  it("strips versions from new and old style ids and accepts arXiv's URL forms", () => {
    expect(normalizeArxivId("2510.99877v2")).toBe("2510.99877");
    expect(normalizeArxivId("2510.9987")).toBe("2510.9987");
    expect(normalizeArxivId("hep-th/9901001v1")).toBe("hep-th/9901001");
    expect(normalizeArxivId("math.AG/0601001")).toBe("math.AG/0601001");
    expect(normalizeArxivId("http://arxiv.org/abs/2509.99642v12")).toBe("2509.99642");
    expect(normalizeArxivId("https://arxiv.org/pdf/2509.99642v1.pdf")).toBe("2509.99642");
    expect(normalizeArxivId("arXiv:2509.99642")).toBe("2509.99642");
  });
  it("refuses what is not an arXiv id", () => {
    for (const bad of ["", "2510", "2510.99877x", "../etc/passwd", "hep-th/99", "2510.998777", "<script>"]) {
      expect(normalizeArxivId(bad)).toBeNull();
    }
  });
});

describe("text and links", () => {
  it("collapses line breaks with their indentation, keeps everything else", () => {
    expect(cleanText("  A $O(n\\log n)$ bound\n    for <b> & ü  ")).toBe("A $O(n\\log n)$ bound for <b> & ü");
    expect(cleanText("two  spaces\r\n\r\nkept")).toBe("two  spaces kept");
  });
  it("keeps only http(s) links", () => {
    expect(safeLink(" https://github.com/a/b ")).toBe("https://github.com/a/b");
    expect(safeLink("javascript:alert(1)")).toBeNull();
    expect(safeLink("github.com/a/b")).toBeNull();
    expect(safeLink("")).toBeNull();
    expect(safeLink(null)).toBeNull();
  });
});

describe("days", () => {
  it("validates calendar dates", () => {
    expect(isDay("2026-11-27")).toBe(true);
    expect(isDay("2026-02-30")).toBe(false);
    expect(isDay("2026-1-2")).toBe(false);
  });
  it("counts days across month and year ends", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(dayRange("2026-02-27", "2026-03-02")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(dayRange("2026-03-02", "2026-03-01")).toEqual([]);
  });
  it("takes today and yesterday in the ingest time zone", () => {
    const instant = new Date("2026-11-27T22:30:00Z");
    expect(dayIn(instant, "UTC")).toBe("2026-11-27");
    expect(recentDays(instant, "UTC")).toEqual(["2026-11-26", "2026-11-27"]);
    expect(recentDays(instant, "Asia/Tokyo")).toEqual(["2026-11-27", "2026-11-28"]);
    expect(recentDays(instant, "America/Los_Angeles")).toEqual(["2026-11-26", "2026-11-27"]);
  });
});

describe("HTTP pacing", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    expect(parseRetryAfter("12", now)).toBe(12_000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
  it("spaces callers that arrive together one interval apart", async () => {
    const clock = fakeClock(0);
    const limiter = createSpacingLimiter(3000, clock);
    const released: number[] = [];
    await Promise.all([1, 2, 3].map(() => limiter.take().then(() => released.push(clock.now()))));
    expect(released).toEqual([0, 3000, 6000]);
    clock.t += 10_000;
    await limiter.take();
    expect(clock.sleeps).toEqual([3000, 3000]);
  });
});

describe("source shapes", () => {
  it("maps a recorded Hugging Face entry, leaving fields it does not own null", () => {
    const mapped = mapHfEntry(hfSample()[1], "2026-11-27", "huggingface");
    expect("paper" in mapped && mapped.paper).toMatchObject({
      arxivId: "2510.99874",
      upvotes: 31,
      githubRepo: null,
      projectPage: null,
      categories: null,
      aiKeywords: ["text-to-video", "video generation", "benchmark", "physical plausibility", "conservation laws"],
    });
    const noId = mapHfEntry({ paper: { title: "x" } }, "2026-11-27", "huggingface");
    expect(noId).toMatchObject({ invalid: { id: null, reason: expect.stringMatching(/paper\.id/) as unknown } });
  });
  it("builds the arXiv query for one day and parses the recorded feed", () => {
    expect(arxivQuery(["cs.CL", "cs.LG"], "2026-11-27")).toBe("(cat:cs.CL OR cat:cs.LG) AND submittedDate:[202611270000 TO 202611272359]");
    const feed = parseArxivFeed({ url: "http://x/api/query", status: 200, contentType: "application/atom+xml", body: arxivSample() });
    expect(feed.total).toBe(1873);
    expect(feed.entries).toHaveLength(2);
    // Ids stay strings: 2510.99877 must not become a number.
    expect((feed.entries[0] as { id: unknown }).id).toBe("http://arxiv.org/abs/2510.99877v1");
  });
});

describe("config", () => {
  it("accepts PAPERS_SOURCE as an alias of PAPERS_SOURCES", () => {
    expect(loadConfig({ PAPERS_SOURCE: "file:data/sample" }).PAPERS_SOURCES).toEqual(["file:data/sample"]);
    expect(loadConfig({}).PAPERS_SOURCES).toEqual(["huggingface"]);
    expect(() => loadConfig({ PAPERS_SOURCE: "file:a", PAPERS_SOURCES: "arxiv" })).toThrow(/PAPERS_SOURCE: is an alias/);
    expect(() => loadConfig({ PAPERS_SOURCE: "rss" })).toThrow(/unknown source "rss"/);
  });
});
