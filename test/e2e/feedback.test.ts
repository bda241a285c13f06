import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { serveForBrowser, type ServedApp } from "../helpers/browser.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import type { TestRuntime } from "../helpers/runtime.js";

const TITLES = ["Olympiad geometry by proof search", "Agents that plan tool calls on the web", "Formal theorem proving at scale"];

/**
 * What a reader does with "More like this": opens the link in a digest they received
 * (sent over SMTP to a real server, parsed with mailparser), sees the paper and one
 * button, presses it, changes their mind; then on the manage page follows a suggested
 * topic and takes back a vote. Asserted on the page and in the database.
 */
describe("More like this, clicked in Chromium from a received digest", () => {
  let served: ServedApp;
  let rt: TestRuntime;
  let browser: Browser;
  let base: string;
  let subscriberId: number;
  let paperIds: number[];
  let emailHtml: string;

  beforeAll(async () => {
    // The email's links point at this server.
    served = await serveForBrowser();
    ({ rt, browser, base } = served);
    const seeded = await seedOne(rt.pool, { papers: 3, title: (i) => TITLES[i - 1]! });
    ({ subscriberId, paperIds } = seeded);
    // What suggestions are drawn from: the AI keywords the liked papers (the first and last) share.
    await rt.pool.query(`update papers set ai_keywords = '{"test-time compute","formal proofs"}' where id = any($1)`, [[paperIds[0], paperIds[2]]]);
    await rt.pool.query(`update papers set ai_keywords = '{"web agents"}' where id = $1`, [paperIds[1]]);
    await setSubscriberTopics(rt.db, subscriberId, ["reasoning"]);
    expect((await buildDigestSender(rt, rt.renderer).sendBatch([seeded.digestId])).sent).toBe(1);
    const [msg] = await rt.sink.waitFor(1);
    emailHtml = msg!.parsed.html as string;
  });
  afterAll(async () => {
    await served?.close();
  });

  const votes = async () =>
    (await rt.pool.query<{ paper_id: string; vote: number }>("select paper_id, vote from votes where subscriber_id = $1 order by paper_id", [subscriberId])).rows.map((r) => ({
      paper: Number(r.paper_id),
      vote: r.vote,
    }));
  const topics = async () =>
    (await rt.pool.query<{ label: string }>("select label from subscriber_topics where subscriber_id = $1 order by label", [subscriberId])).rows.map((r) => r.label);

  /** The received email, open in a tab, as a mail client shows it. */
  async function openEmail(): Promise<Page> {
    const page = await browser.newPage();
    await page.setContent(emailHtml);
    return page;
  }

  /** Clicks the n-th paper's "More like this" or "Less like this" link in the email. */
  async function follow(page: Page, name: "More like this" | "Less like this", n: number): Promise<void> {
    await Promise.all([page.waitForURL(/\/feedback\?token=/), page.getByRole("link", { name }).nth(n).click()]);
  }

  it("the link shows the paper and one button and records nothing; the button records the vote; undo takes it back", async () => {
    const page = await openEmail();
    await follow(page, "More like this", 0);
    expect(page.url().startsWith(`${base}/feedback?token=`)).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("More like this?");
    expect(await page.getByRole("link", { name: TITLES[0] }).count()).toBe(1);
    expect(await page.getByRole("button").allTextContents()).toEqual(["More like this"]);
    // Opening the link (as a scanner would) changed nothing.
    expect(await votes()).toEqual([]);

    await page.getByRole("button", { name: "More like this" }).click();
    await page.getByRole("heading", { name: "Thanks, noted" }).waitFor();
    expect(await page.getByRole("status").textContent()).toContain("You asked for more papers like this one.");
    expect(await votes()).toEqual([{ paper: paperIds[0], vote: 1 }]);
    // Going back and opening the link again offers undo, not a second vote.
    await page.reload();
    expect(await page.getByRole("button").allTextContents()).toEqual(["Undo my vote"]);

    await page.getByRole("button", { name: "Undo my vote" }).click();
    await page.getByRole("heading", { name: "Vote removed" }).waitFor();
    expect(await page.getByRole("status").textContent()).toContain("Your vote on this paper is gone");
    expect(await votes()).toEqual([]);
    await page.close();
  });

  it("manage page: votes bring suggested topics; following one adds it; a recent vote's undo removes it", async () => {
    const page = await openEmail();
    // Two liked papers and one disliked, each from its own link in the email.
    for (const [name, n] of [["More like this", 0], ["More like this", 2], ["Less like this", 1]] as const) {
      await page.setContent(emailHtml);
      await follow(page, name, n);
      await page.getByRole("button", { name }).click();
      await page.getByRole("heading", { name: "Thanks, noted" }).waitFor();
    }
    expect(await votes()).toEqual([
      { paper: paperIds[0], vote: 1 },
      { paper: paperIds[1], vote: -1 },
      { paper: paperIds[2], vote: 1 },
    ]);

    // From the last vote's page to the manage page's votes.
    await Promise.all([page.waitForURL(/\/manage\?token=.*#votes$/), page.getByRole("link", { name: "Your recent votes and suggested topics" }).click()]);
    const section = page.locator("#votes");
    const follows = await section.getByRole("button", { name: /^Follow / }).allTextContents();
    expect(follows.length).toBeGreaterThan(0);
    expect(follows.length).toBeLessThanOrEqual(5);
    expect(follows).toContain("Follow “test-time compute”");
    // Already followed: not suggested.
    expect(follows).not.toContain("Follow “reasoning”");
    const listed = section.getByRole("listitem");
    expect(await listed.count()).toBe(3);
    expect((await listed.allTextContents()).map((t) => t.replace(/\s+/g, " "))).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`More like this: ${TITLES[0]}`),
        expect.stringContaining(`Less like this: ${TITLES[1]}`),
        expect.stringContaining(`More like this: ${TITLES[2]}`),
      ]),
    );

    await section.getByRole("button", { name: "Follow “test-time compute”" }).click();
    await page.getByText("You now follow “test-time compute”").waitFor();
    expect(await topics()).toEqual(["reasoning", "test-time compute"]);
    expect(await page.locator("#votes").getByRole("button", { name: "Follow “test-time compute”" }).count()).toBe(0);

    // Undo the "less" vote from the list.
    const less = page.locator("#votes").getByRole("listitem").filter({ hasText: TITLES[1] });
    await less.getByRole("button", { name: "Undo" }).click();
    await page.getByText("Vote removed.").waitFor();
    expect(await page.locator("#votes").getByRole("listitem").count()).toBe(2);
    expect(await page.locator("#votes").getByRole("listitem").filter({ hasText: TITLES[1] }).count()).toBe(0);
    expect(await votes()).toEqual([
      { paper: paperIds[0], vote: 1 },
      { paper: paperIds[2], vote: 1 },
    ]);
    await page.close();
  });
});
