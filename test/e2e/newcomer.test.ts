import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type App } from "../../src/http/app.js";
import { startOutbox, type Outbox } from "../../src/local/outbox.js";
import { launchBrowser } from "../helpers/browser.js";
import { freePort } from "../helpers/free-port.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const ADMIN_TOKEN = "admin-token-newcomer-0123456789";

/** Whether the page scrolls sideways: the document is wider than the window. */
const overflow = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");

/**
 * A newcomer's first hour, as `npm start` serves it: mail lands in the local outbox,
 * read in Chromium on a phone-sized window.
 */
describe("the local outbox and the pages a newcomer meets, in Chromium", () => {
  let rt: TestRuntime;
  let outbox: Outbox;
  let outboxDir: string;
  let app: App;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    outboxDir = await mkdtemp(path.join(tmpdir(), "paperboy-outbox-"));
    outbox = await startOutbox({ dir: outboxDir, port: 0 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Mail goes to the outbox, and its links point at this server.
    rt = await createTestRuntime({ PUBLIC_URL: base, SMTP_URL: outbox.smtpUrl, ADMIN_TOKEN });
    app = await buildApp({ ...rt, outbox });
    await app.listen({ port, host: "127.0.0.1" });
    browser = await launchBrowser();
    // What makes the admin tables wide: an ingest run that failed with a long URL in its error.
    await rt.pool.query(`insert into ingest_runs (source, day, status, fetched, error, finished_at, duration_ms)
      values ('huggingface', '2026-11-27', 'failed', 0, $1, now(), 61234), ('file:data/sample', '2026-11-27', 'succeeded', 30, null, now(), 120)`, [
      `huggingface: GET https://huggingface.co/api/daily_papers?date=2026-11-27&limit=100&p=0&sort=trending failed: getaddrinfo ENOTFOUND huggingface.co (gave up after 3 attempts)`,
    ]);
    const { digestId } = await seedOne(rt.pool, { email: "newcomer@example.org", papers: 3 });
    expect((await rt.sender.sendBatch([digestId])).sent).toBe(1);
    // The outbox files the message as soon as its SMTP server has answered.
    for (let i = 0; i < 100 && outbox.list().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await rt?.close();
    await outbox?.close();
    if (outboxDir) await rm(outboxDir, { recursive: true, force: true });
  });

  const phone = (): Promise<BrowserContext> => browser.newContext({ viewport: { width: 375, height: 812 } });

  it("opens a link inside an email in a new tab, while the email's scripts stay blocked", async () => {
    const context = await phone();
    const page = await context.newPage();
    await page.goto(`${base}/outbox`);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await page.getByRole("link", { name: outbox.list()[0]!.subject }).click();
    await page.waitForURL(/\/outbox\/[0-9]+-[0-9]+$/);
    expect(await overflow(page)).toBeLessThanOrEqual(0);

    const email = page.frameLocator('iframe[title="HTML part"]');
    const [tab] = await Promise.all([context.waitForEvent("page"), email.getByRole("link", { name: "Manage topics" }).click()]);
    await tab.waitForLoadState();
    expect(tab.url()).toMatch(new RegExp(`^${base}/manage\\?token=`));
    // The page it opens works (it is not stuck in the email's sandbox): its form is there and styled.
    await expect.poll(() => tab.getByRole("heading", { name: "Your digest" }).count()).toBe(1);
    expect(await overflow(tab)).toBeLessThanOrEqual(0);

    // The frame may open links, never run scripts.
    const sandbox = await page.locator('iframe[title="HTML part"]').getAttribute("sandbox");
    expect(sandbox?.split(" ")).toEqual(expect.arrayContaining(["allow-popups", "allow-top-navigation-by-user-activation"]));
    expect(sandbox).not.toContain("allow-scripts");
    const part = await context.request.get(`${page.url()}/html`);
    expect(part.headers()["content-security-policy"]).toMatch(/sandbox allow-popups/);
    expect(part.headers()["content-security-policy"]).not.toContain("allow-scripts");
    await context.close();
  });

  it("manage page: saves, pauses and resumes by redirecting back to the token URL, so a refresh posts nothing", async () => {
    const token = /\/manage\?token(?:=|&#x3D;)([^"&]+)"/.exec(outbox.list()[0]!.html ?? "")?.[1];
    const context = await phone();
    const page = await context.newPage();
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${base}/manage?token=${token}`);
    expect(await page.getByRole("heading", { name: "Your digest" }).count()).toBe(1);

    // The weekday only matters for weekly digests (CSS alone: works without JavaScript).
    const weekday = page.getByLabel("Weekday");
    expect(await weekday.isVisible()).toBe(false);
    await page.getByLabel("How often").selectOption("weekly");
    expect(await weekday.isVisible()).toBe(true);
    await weekday.selectOption("3");
    await page.getByLabel("Send at").selectOption("18");
    await page.getByLabel(/Topics/).fill("diffusion models\nreasoning");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL((u) => u.pathname === "/manage" && u.searchParams.get("token") === token && u.searchParams.has("saved"));
    expect(await page.getByRole("status").filter({ hasText: "What changed" }).textContent()).toMatch(/Topics: diffusion models, reasoning/);
    expect(await page.getByRole("status").filter({ hasText: "What changed" }).textContent()).toMatch(/How often: weekly[\s\S]*Weekday: Wednesday[\s\S]*Send hour: 18:00/);
    expect(await page.getByLabel("Send at").inputValue()).toBe("18");
    await page.reload();
    expect(posts).toEqual(["/manage"]);

    await page.getByRole("button", { name: "Pause digests" }).click();
    await page.waitForURL((u) => u.searchParams.get("done") === "paused");
    expect(await page.getByText("Paused: no digests until you resume.").count()).toBe(1);
    await page.getByRole("button", { name: "Resume digests" }).click();
    await page.waitForURL((u) => u.searchParams.get("done") === "resumed");
    await page.reload();
    expect(posts).toEqual(["/manage", "/manage/pause", "/manage/resume"]);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await context.close();
  });

  it("has no sideways scroll at 375 px on /, /manage, /outbox and /admin, nor on /admin at 800 px", async () => {
    const token = /\/manage\?token(?:=|&#x3D;)([^"&]+)"/.exec(outbox.list()[0]!.html ?? "")?.[1];
    expect(token).toBeDefined();
    const manage = `${base}/manage?token=${token}`;
    for (const width of [375, 800]) {
      const context = await browser.newContext({ viewport: { width, height: 900 }, httpCredentials: { username: "admin", password: ADMIN_TOKEN } });
      const page = await context.newPage();
      const urls = width === 375 ? [`${base}/`, manage, `${base}/outbox`, `${base}/admin`] : [`${base}/admin`];
      for (const url of urls) {
        const res = await page.goto(url);
        expect(res?.status(), url).toBe(200);
        expect(await overflow(page), `${url} at ${width} px`).toBeLessThanOrEqual(0);
      }
      await context.close();
    }
  });
});
