import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { AppError } from "../../src/errors.js";
import { assertTopicsSearchable } from "../../src/subscribers/topics.js";
import { addPaper, addSubscriber, digestPapersOf, digestsOf, matchDatabase } from "./match-fixtures.js";

const DAY = "2026-11-26";
const SEEN = "2026-11-26T06:00:00Z";
const PLAN_AT = new Date("2026-11-26T09:00:00Z");

describe("match: what a digest contains", () => {
  const tdb = matchDatabase();

  /** Plans at 09:00 UTC for a UTC subscriber with send hour 8 and returns the digest's paper titles. */
  async function titlesFor(topics: string[], maxPapers = 10): Promise<string[]> {
    const id = await addSubscriber(tdb.db, { topics, maxPapers });
    await planDigests(tdb.db, { now: PLAN_AT });
    const [digest] = await digestsOf(tdb.db, id);
    expect(digest).toBeDefined();
    return (await digestPapersOf(tdb.db, digest!.id)).map((p) => p.title);
  }

  it("stems English words: `reasoning` finds `reason`, `models` finds `model`", async () => {
    await addPaper(tdb.db, { title: "How language models reason about space", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "A model of protein folding", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Graph coloring heuristics", listingDay: DAY, firstSeenAt: SEEN });
    expect(await titlesFor(["reasoning"])).toEqual(["How language models reason about space"]);
    expect((await titlesFor(["models"])).sort()).toEqual(["A model of protein folding", "How language models reason about space"]);
  });

  it("treats quoted topics as phrases and requires every plain word", async () => {
    await addPaper(tdb.db, { title: "Large language model agents", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "A model of language acquisition", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Vision model compression", listingDay: DAY, firstSeenAt: SEEN });
    expect(await titlesFor(['"language model"'])).toEqual(["Large language model agents"]);
    expect((await titlesFor(["language model"])).sort()).toEqual(["A model of language acquisition", "Large language model agents"]);
  });

  it("understands `or` and `-exclusion`", async () => {
    await addPaper(tdb.db, { title: "Mamba layers for long context", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Structured SSM kernels", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Reasoning with tools", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "A survey of reasoning benchmarks", listingDay: DAY, firstSeenAt: SEEN });
    expect((await titlesFor(["mamba or ssm"])).sort()).toEqual(["Mamba layers for long context", "Structured SSM kernels"]);
    expect(await titlesFor(["reasoning -survey"])).toEqual(["Reasoning with tools"]);
  });

  it("matches hyphenated terms, AI keywords, and text full of LaTeX and Unicode", async () => {
    await addPaper(tdb.db, { title: "Scaling test-time compute for verifiers", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Budget forcing", keywords: ["test-time compute"], listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Compute at test time, revisited", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, {
      title: "$\\mathcal{O}(n \\log n)$ attention with \\emph{sparse} kernels",
      abstract: "We prove $\\sum_{i=1}^{n} \\alpha_i \\leq 1$ for naïve Über-attention — “fast”.",
      listingDay: DAY,
      firstSeenAt: SEEN,
    });
    expect((await titlesFor(['"test-time compute"'])).sort()).toEqual(["Budget forcing", "Scaling test-time compute for verifiers"]);
    expect(await titlesFor(["sparse attention"])).toEqual(["$\\mathcal{O}(n \\log n)$ attention with \\emph{sparse} kernels"]);
    expect(await titlesFor(["naïve"])).toEqual(["$\\mathcal{O}(n \\log n)$ attention with \\emph{sparse} kernels"]);
  });

  it("refuses a topic made only of stop words or punctuation, naming the field", async () => {
    await expect(assertTopicsSearchable(tdb.db, ["diffusion", "the of and"])).rejects.toMatchObject({
      code: "VALIDATION",
      field: "topics.1",
    });
    await expect(assertTopicsSearchable(tdb.db, ["!!! ---"])).rejects.toBeInstanceOf(AppError);
    await expect(assertTopicsSearchable(tdb.db, ["diffusion", "a -survey"])).resolves.toBeUndefined();
  });

  it("ranks a strong match with few upvotes above a weak match with many", async () => {
    await addPaper(tdb.db, {
      title: "Unrelated robotics paper",
      abstract: "We mention diffusion once in passing.",
      upvotes: 900,
      listingDay: DAY,
      firstSeenAt: SEEN,
    });
    await addPaper(tdb.db, { title: "Diffusion for video", upvotes: 1, listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Diffusion for audio", upvotes: 40, listingDay: DAY, firstSeenAt: SEEN });
    expect(await titlesFor(["diffusion"])).toEqual(["Diffusion for audio", "Diffusion for video", "Unrelated robotics paper"]);
  });

  it("keeps only the subscriber's top N, best first, with ranks 1..N", async () => {
    for (let i = 0; i < 5; i++) {
      await addPaper(tdb.db, { title: `Retrieval paper ${i}`, upvotes: i * 10, listingDay: DAY, firstSeenAt: SEEN });
    }
    const id = await addSubscriber(tdb.db, { topics: ["retrieval"], maxPapers: 3 });
    await planDigests(tdb.db, { now: PLAN_AT });
    const [digest] = await digestsOf(tdb.db, id);
    expect(digest).toMatchObject({ status: "queued", paper_count: 3 });
    const papers = await digestPapersOf(tdb.db, digest!.id);
    expect(papers.map((p) => [p.rank, p.title])).toEqual([
      [1, "Retrieval paper 4"],
      [2, "Retrieval paper 3"],
      [3, "Retrieval paper 2"],
    ]);
  });

  it("records which of the subscriber's topics matched each paper, and the matched words", async () => {
    await addPaper(tdb.db, { title: "Diffusion models that reason", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Reasoning traces", listingDay: DAY, firstSeenAt: SEEN });
    const id = await addSubscriber(tdb.db, { topics: ["Diffusion Models", "reasoning", "mamba"] });
    await planDigests(tdb.db, { now: PLAN_AT });
    const [digest] = await digestsOf(tdb.db, id);
    const papers = await digestPapersOf(tdb.db, digest!.id);
    const byTitle = new Map(papers.map((p) => [p.title, p]));
    expect(byTitle.get("Diffusion models that reason")?.matched_topics.sort()).toEqual(["Diffusion Models", "reasoning"]);
    expect(byTitle.get("Diffusion models that reason")?.matched_words).toEqual(["diffus", "model", "reason"]);
    expect(byTitle.get("Reasoning traces")).toMatchObject({ matched_topics: ["reasoning"], matched_words: ["reason"] });
  });

  it("marks a digest without papers empty, unless the subscriber wants mail anyway", async () => {
    await addPaper(tdb.db, { title: "Diffusion for video", listingDay: DAY, firstSeenAt: SEEN });
    const quiet = await addSubscriber(tdb.db, { topics: ["quantum chemistry"] });
    const eager = await addSubscriber(tdb.db, { topics: ["quantum chemistry"], sendWhenEmpty: true });
    const summary = await planDigests(tdb.db, { now: PLAN_AT });
    expect(await digestsOf(tdb.db, quiet)).toMatchObject([{ status: "empty", paper_count: 0 }]);
    const [eagerDigest] = await digestsOf(tdb.db, eager);
    expect(eagerDigest).toMatchObject({ status: "queued", paper_count: 0 });
    expect(summary).toMatchObject({ created: 2, empty: 2, withPapers: 0, queuedDigestIds: [eagerDigest!.id] });
  });

  it("never puts a paper into two digests of the same subscriber across consecutive days", async () => {
    const old = await addPaper(tdb.db, { title: "Diffusion day one", listingDay: DAY, firstSeenAt: SEEN });
    const id = await addSubscriber(tdb.db, { topics: ["diffusion"] });
    await planDigests(tdb.db, { now: PLAN_AT });
    await addPaper(tdb.db, { title: "Diffusion day two", listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
    // A re-import that resets when the paper was first seen must not send it again.
    await tdb.db.execute(sql`update papers set first_seen_at = '2026-11-27T06:30:00Z' where id = ${old}`);
    await planDigests(tdb.db, { now: new Date("2026-11-27T09:00:00Z") });
    const [first, second] = await digestsOf(tdb.db, id);
    expect(first).toMatchObject({ period: DAY, paper_count: 1 });
    expect(second).toMatchObject({ period: "2026-11-27", paper_count: 1 });
    expect(second!.covers_from).toBe(first!.covers_to);
    expect(second!.covers_to).toBe("2026-11-27T09:00:00Z");
    expect((await digestPapersOf(tdb.db, first!.id)).map((p) => p.title)).toEqual(["Diffusion day one"]);
    expect((await digestPapersOf(tdb.db, second!.id)).map((p) => p.title)).toEqual(["Diffusion day two"]);
  });

  it("covers only papers first seen since the previous digest, and the latest listing day for a first digest", async () => {
    await addPaper(tdb.db, { title: "Diffusion older listing", listingDay: "2026-11-25", firstSeenAt: "2026-11-25T06:00:00Z" });
    await addPaper(tdb.db, { title: "Diffusion latest listing", listingDay: DAY, firstSeenAt: SEEN });
    await addPaper(tdb.db, { title: "Diffusion from the future", listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
    expect(await titlesFor(["diffusion"])).toEqual(["Diffusion latest listing"]);
  });
});
