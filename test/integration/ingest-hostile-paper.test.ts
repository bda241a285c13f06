import { desc, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ingestRuns, papers } from "../../src/db/schema.js";
import { ingestDay } from "../../src/papers/ingest.js";
import { createSource } from "../../src/papers/sources/index.js";
import { hfEntry, ingestHarness, sourcesConfig } from "../helpers/papers.js";

const DAY = "2026-11-27";

describe("one bad paper never costs a day", () => {
  const h = ingestHarness();
  const hf = () => createSource("huggingface", { config: sourcesConfig(h.server.url, h.server.url), clock: h.clock });

  it("a NUL in one paper's abstract is removed and the day's other papers are stored; papers that cannot be stored are skipped and counted", async () => {
    const entries = [
      hfEntry("2611.00101"),
      // What the API sends: JSON escapes for NUL and other control characters.
      hfEntry("2611.00102", { summary: "Diffusion models\u0000 for weather\u0007 maps.", title: "Rain\u0000Net" }),
      hfEntry("2611.00103", { authors: [{ _id: "x", name: "Ada\u0000 Lovelace", hidden: false }] }),
      // Only control characters: nothing is left to call a title.
      hfEntry("2611.00104", { title: "\u0000\u0001\u0002" }),
      // More votes than the column holds.
      hfEntry("2611.00105", { upvotes: 3_000_000_000 }),
      hfEntry("2611.00106"),
    ];
    h.server.route("/api/daily_papers", { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(entries) });
    expect(JSON.stringify(entries)).toContain("\\u0000");

    const run = await ingestDay(h.deps(), hf(), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 6, inserted: 4, skipped: 2, error: null });
    const stored = await h.rows();
    expect(stored.map((p) => p.arxivId)).toEqual(["2611.00101", "2611.00102", "2611.00103", "2611.00106"]);
    const rain = stored.find((p) => p.arxivId === "2611.00102");
    expect(rain).toMatchObject({ title: "RainNet", abstract: "Diffusion models for weather maps." });
    expect(stored.find((p) => p.arxivId === "2611.00103")?.authors).toEqual(["Ada Lovelace"]);

    const [recorded] = await h.database.db.select().from(ingestRuns).orderBy(desc(ingestRuns.id)).limit(1);
    expect(recorded).toMatchObject({ status: "succeeded", fetched: 6, inserted: 4, skipped: 2 });
    const skippedLines = h.log.lines().filter((l) => l.msg === "skipped an invalid paper entry");
    expect(skippedLines.map((l) => l.paperId).sort()).toEqual(["2611.00104", "2611.00105"]);

    // The cleaned paper is searchable like any other.
    const found = await h.database.db.select({ id: papers.arxivId }).from(papers).where(sql`${papers.search} @@ websearch_to_tsquery('english', 'weather maps')`);
    expect(found.map((f) => f.id)).toEqual(["2611.00102"]);

    // A retry of the day finds the same papers unchanged instead of failing again.
    const again = await ingestDay(h.deps(), hf(), DAY);
    expect(again).toMatchObject({ status: "succeeded", inserted: 0, unchanged: 4, skipped: 2 });
  });
});
