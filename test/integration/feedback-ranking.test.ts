import { describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { recordVote } from "../../src/subscribers/votes.js";
import { addPaper, addSubscriber, digestPapersOf, digestsOf, matchDatabase } from "./match-fixtures.js";

/**
 * Votes change the next digest. Day 1 mixes two kinds of "reasoning" papers, mathematical
 * reasoning and agent planning; a reader asks for more of one kind and less of the other,
 * and day 2's digest (top 5) follows, where a reader without votes still gets a mix.
 */
const D1 = "2026-11-26";
const D2 = "2026-11-27";
const D3 = "2026-11-28";
const at = (day: string) => new Date(`${day}T09:00:00Z`);

const MATH_KEYWORDS = ["mathematical reasoning", "theorem proving", "olympiad math"];
const AGENT_KEYWORDS = ["agent planning", "tool-use reasoning", "web agents"];

const day1 = {
  math: [
    "Mathematical reasoning with formal theorem proving",
    "Olympiad geometry: mathematical reasoning by proof search",
    "Reasoning about algebra: theorem proving for olympiad math",
  ],
  agent: ["Agent planning with tool use: reasoning over web tasks", "Planning agents that reason with tools on the web", "Reasoning web agents: planning long tool-use tasks"],
};
const day2 = {
  math: [
    "Theorem proving reasoning for olympiad mathematical problems",
    "Mathematical reasoning benchmarks for proof generation",
    "Scaling formal mathematical reasoning in theorem provers",
    "Olympiad math reasoning with verified proofs",
    "Reasoning over mathematical proof steps",
  ],
  agent: [
    "Reasoning agents plan tool calls on web tasks",
    "Agent planning for long-horizon web reasoning",
    "Tool-use reasoning for planning agents",
    "Web agents: planning and reasoning with tools",
    "Reasoning and planning in multi-agent tool use",
  ],
};

describe("votes re-rank the next digest", () => {
  const tdb = matchDatabase();

  async function seedDays() {
    const ids = { math: [] as number[], agent: [] as number[] };
    const seen1 = `${D1}T06:00:00Z`;
    for (const [i, title] of day1.math.entries()) ids.math.push(await addPaper(tdb.db, { title, keywords: MATH_KEYWORDS, upvotes: 20 + i, listingDay: D1, firstSeenAt: seen1 }));
    for (const [i, title] of day1.agent.entries()) ids.agent.push(await addPaper(tdb.db, { title, keywords: AGENT_KEYWORDS, upvotes: 25 + i, listingDay: D1, firstSeenAt: seen1 }));
    return ids;
  }

  /** Day 2: the agent papers have more upvotes, interleaved with the math ones (without votes the top 5 is a mix). */
  async function seedDay2() {
    const seen2 = `${D2}T12:00:00Z`;
    const kind = new Map<string, "math" | "agent" | "off-topic">();
    for (const [i, title] of day2.math.entries()) {
      await addPaper(tdb.db, { title, keywords: MATH_KEYWORDS, upvotes: 90 - i * 20, listingDay: D2, firstSeenAt: seen2 });
      kind.set(title, "math");
    }
    for (const [i, title] of day2.agent.entries()) {
      await addPaper(tdb.db, { title, keywords: AGENT_KEYWORDS, upvotes: 100 - i * 20, listingDay: D2, firstSeenAt: seen2 });
      kind.set(title, "agent");
    }
    // Just like the liked papers, but not about reasoning: feedback alone never adds it to a topic digest.
    const offTopic = "Olympiad math theorem proving with mathematical proofs";
    await addPaper(tdb.db, { title: offTopic, keywords: ["theorem proving", "olympiad math"], upvotes: 500, listingDay: D2, firstSeenAt: seen2 });
    kind.set(offTopic, "off-topic");
    return kind;
  }

  async function top(subscriberId: number, period: string) {
    const digest = (await digestsOf(tdb.db, subscriberId)).find((d) => d.period === period);
    expect(digest, `digest of ${period}`).toBeDefined();
    return (await digestPapersOf(tdb.db, digest!.id)).map((p) => p.title);
  }

  it("a topic subscriber's 3 'more' on math reasoning and 2 'less' on agent planning: day 2's top 5 is math, where a reader without votes gets a mix", async () => {
    const ids = await seedDays();
    const voter = await addSubscriber(tdb.db, { topics: ["reasoning"], maxPapers: 5 });
    const control = await addSubscriber(tdb.db, { topics: ["reasoning"], maxPapers: 5 });
    const trendVoter = await addSubscriber(tdb.db, { topics: [], maxPapers: 5 });
    const trendControl = await addSubscriber(tdb.db, { topics: [], maxPapers: 5 });

    // Day 1 (09:00 on D2 covers D1's papers for both kinds of first digest).
    await planDigests(tdb.db, { now: at(D2) });
    for (const s of [voter, control, trendVoter, trendControl]) expect(await top(s, D2)).toHaveLength(5);
    const votedAt = new Date(`${D2}T10:00:00Z`);
    for (const s of [voter, trendVoter]) {
      for (const id of ids.math) await recordVote(tdb.db, s, id, 1, votedAt);
      for (const id of ids.agent.slice(0, 2)) await recordVote(tdb.db, s, id, -1, votedAt);
    }

    const kind = await seedDay2();
    await planDigests(tdb.db, { now: at(D3) });
    const kinds = async (s: number) => (await top(s, D3)).map((t) => kind.get(t));

    const withoutVotes = await kinds(control);
    expect(withoutVotes).toHaveLength(5);
    expect(withoutVotes).toContain("math");
    expect(withoutVotes).toContain("agent");

    const withVotes = await kinds(voter);
    expect(withVotes).toHaveLength(5);
    expect(withVotes.filter((k) => k === "math").length).toBeGreaterThanOrEqual(4);
    expect(withVotes).not.toContain("agent");
    expect(withVotes).not.toContain("off-topic");

    // Trending (no topics): the day's papers by upvotes, re-ranked by the votes.
    const trendWithout = await kinds(trendControl);
    expect(trendWithout[0]).toBe("off-topic");
    expect(trendWithout).toContain("math");
    expect(trendWithout).toContain("agent");
    const trendWith = await kinds(trendVoter);
    expect(trendWith).toHaveLength(5);
    expect(trendWith.filter((k) => k === "math" || k === "off-topic").length).toBeGreaterThanOrEqual(4);
    expect(trendWith).not.toContain("agent");
  });
});
