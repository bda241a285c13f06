import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { buildDigestSender } from "../../src/digests/sender.js";
import { serveForBrowser, type ServedApp } from "../helpers/browser.js";
import type { TestRuntime } from "../helpers/runtime.js";
import { addPaper } from "../integration/match-fixtures.js";

const DAY = "2026-11-27";
const NEXT_MORNING = new Date("2026-11-28T09:00:00Z");
/** Twelve papers of the latest day with distinct upvotes, inserted out of order; and an older day's star. */
const UPVOTES = [15, 212, 3, 88, 47, 130, 9, 61, 2, 34, 170, 5];
const titleFor = (votes: number) => `Paper with ${votes} upvotes: an unusually long title about scaling test-time compute for verifier-guided reasoning`;

describe("the Daily Papers page in a real browser", () => {
  let served: ServedApp;
  let rt: TestRuntime;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    served = await serveForBrowser();
    ({ rt, browser, base } = served);
    await addPaper(rt.db, { title: "Yesterday's star", upvotes: 999, listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
    for (const votes of UPVOTES) {
      await addPaper(rt.db, { title: titleFor(votes), abstract: "supercalifragilisticexpialidocious".repeat(12), upvotes: votes, listingDay: DAY, firstSeenAt: `${DAY}T06:00:00Z` });
    }
  });
  afterAll(async () => {
    await served?.close();
  });

  it("lands on /, subscribes from the header box, confirms, and the next day's digest holds that day's top 10 by upvotes, saying why", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 }, timezoneId: "UTC" });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const byVotes = [...UPVOTES].sort((a, b) => b - a);
    expect(await page.locator("li.paper h2").allTextContents()).toEqual(byVotes.map(titleFor));
    // Readable at 375 px: long titles and unbroken words wrap instead of widening the page.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);

    await page.getByLabel("Get trending papers in your email inbox").fill("reader@example.org");
    await page.getByRole("button", { name: "Subscribe", exact: true }).click();
    await page.waitForURL(`${base}/check-inbox`);

    const [mail] = await rt.sink.waitFor(1);
    const link = new RegExp(`${base.replace(/[.]/g, "\\.")}/confirm\\?token=[^\\s"<]+`).exec(mail?.parsed.text ?? "")?.[0];
    expect(link).toBeDefined();
    await page.goto(link!);
    await page.getByRole("button", { name: "Confirm my subscription" }).click();
    await page.waitForURL(`${base}/confirm`);
    expect(await page.locator(".card").first().textContent()).toMatch(/No topics: you get the trending papers/);
    await context.close();

    const summary = await planDigests(rt.db, { now: NEXT_MORNING, listingTimeZone: "UTC" });
    expect(summary.withPapers).toBe(1);
    const sender = buildDigestSender(rt, rt.renderer);
    await sender.sendBatch(summary.queuedDigestIds);
    const [, digest] = await rt.sink.waitFor(2);
    expect(digest?.envelope.to).toEqual(["reader@example.org"]);
    // The subject leads with the top paper; the header counts them.
    expect(digest?.parsed.subject).toMatch(/^Paper with 212 upvotes\b.*, and 9 more trending papers$/);
    const text = digest?.parsed.text ?? "";
    expect(text).toContain("10 trending papers");
    const order = [...text.matchAll(/^\d+\. Paper with (\d+) upvotes/gm)].map((m) => Number(m[1]));
    expect(order).toEqual(byVotes.slice(0, 10));
    for (const votes of byVotes.slice(0, 10)) expect(text).toContain(`trending: ${votes} upvotes`);
    expect(text).not.toContain("Yesterday's star");
    expect(String(digest?.parsed.html)).toContain("trending: 212 upvotes");
  });

  it("revalidates a repeated visit with a 304", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // What went over the wire (Playwright reports a revalidated page as its cached 200).
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    const documents = new Set<string>();
    cdp.on("Network.requestWillBeSent", (e: { requestId: string; request: { url: string } }) => {
      if (e.request.url === `${base}/`) documents.add(e.requestId);
    });
    const pages: number[] = [];
    cdp.on("Network.responseReceivedExtraInfo", (e: { requestId: string; statusCode: number }) => {
      if (documents.has(e.requestId)) pages.push(e.statusCode);
    });
    await page.goto(`${base}/`);
    await page.reload();
    await expect.poll(() => pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[0]).toBe(200);
    expect(pages.at(-1)).toBe(304);
    // And the page is still the day's papers.
    expect(await page.locator("li.paper").count()).toBe(UPVOTES.length);
    await context.close();
  });

  it("works at 375 px with JavaScript off: the box posts the plain form", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    await page.goto(`${base}/papers/2026-11-26`);
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    await page.fill("#email", "nojs@example.org");
    await page.getByRole("button", { name: "Subscribe", exact: true }).click();
    expect(await page.locator("h1").textContent()).toBe("Check your inbox");
    await context.close();
  });
});
