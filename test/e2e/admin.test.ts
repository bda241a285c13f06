import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { launchBrowser } from "../helpers/browser.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** The part of an SVG element the assertions read (the test tsconfig has no DOM lib). */
type Attrs = { getAttribute(name: string): string | null };

const TOKEN = "admin-token-e2e-0123456789";
const screenshots = fileURLToPath(new URL("./__screenshots__/", import.meta.url));

describe("admin dashboard in Chromium", () => {
  let rt: TestRuntime;
  let app: App;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: TOKEN });
    app = await rt.app();
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    browser = await launchBrowser();
    // 6 subscribers × 30 days: a digest each day, with a mix of outcomes that changes over the month.
    await rt.db.execute(sql`insert into subscribers (email, status, confirmed_at, created_at)
      select 'reader' || i || '@example.org', 'active', now() - (i || ' days')::interval, now() - (i * 4 || ' days')::interval from generate_series(1, 6) i`);
    await rt.db.execute(sql`
      insert into digests (subscriber_id, period, status, covers_to, paper_count, sent_at, created_at, updated_at)
      select s.id, (current_date - d)::date,
             (case when (s.id + d) % 7 = 0 then 'failed' when (s.id + d) % 5 = 0 then 'empty' when (s.id * d) % 11 = 3 then 'bounced' else 'sent' end)::digest_status,
             (current_date - d)::timestamptz, 5,
             case when not ((s.id + d) % 7 = 0 or (s.id + d) % 5 = 0 or (s.id * d) % 11 = 3) then (current_date - d)::timestamptz + interval '8 hours' end,
             (current_date - d)::timestamptz + interval '7 hours', (current_date - d)::timestamptz + interval '8 hours'
      from subscribers s cross join generate_series(0, 29) d
      where s.id <= 6 and (d < 20 or s.id <= 3)`);
  });
  afterAll(async () => {
    await browser?.close();
    await rt?.close();
  });

  it("asks for credentials without the token", async () => {
    // Headless Chromium cannot show the prompt, so ask the way it does, without a page.
    const context = await browser.newContext();
    const res = await context.request.get(`${base}/admin`, { headers: { accept: "text/html" } });
    expect(res.status()).toBe(401);
    expect(res.headers()["www-authenticate"]).toContain("Basic");
    await context.close();
  });

  it("draws one bar group per day for the last 30 days, with the seeded counts", async () => {
    const context = await browser.newContext({ httpCredentials: { username: "admin", password: TOKEN }, viewport: { width: 1200, height: 1600 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 404/.test(m.text())) errors.push(m.text());
    });
    // The browser asks for /favicon.ico on its own; anything else missing is a broken page.
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
    });
    const res = await page.goto(`${base}/admin`);
    expect(res?.status()).toBe(200);

    const days = page.locator("svg.digest-chart g.day");
    await expect.poll(() => days.count()).toBe(30);
    const dayAttrs = await days.evaluateAll((gs: Attrs[]) => gs.map((g) => g.getAttribute("data-day")));
    const today = new Date().toISOString().slice(0, 10);
    expect(dayAttrs.at(-1)).toBe(today);
    expect(new Set(dayAttrs).size).toBe(30);

    // Every day has data; the bars carry what the database holds.
    const { rows } = await rt.db.execute<{ n: number }>(sql`select count(*)::int as n from digests where status in ('sent', 'empty', 'failed', 'bounced')`);
    const drawn = await days.evaluateAll((gs: Attrs[]) =>
      gs.reduce((a: number, g) => a + ["sent", "empty", "failed", "bounced"].reduce((b, k) => b + Number(g.getAttribute(`data-${k}`)), 0), 0),
    );
    expect(drawn).toBe(rows[0]?.n);
    expect(await page.locator("svg.digest-chart rect.sent").count()).toBeGreaterThan(20);
    await expect.poll(() => page.locator("svg.digest-chart rect.failed").count()).toBeGreaterThan(0);
    expect(await page.getByRole("img", { name: /Digests per day, last 30 days/ }).count()).toBe(1);

    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, "admin.png"), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("renders bull-board at /admin/queues under the site's CSP", async () => {
    const context = await browser.newContext({ httpCredentials: { username: "admin", password: TOKEN }, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const csp: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text()) && !/fonts\.googleapis/.test(m.text())) csp.push(m.text());
    });
    await page.goto(`${base}/admin/queues`);
    await expect.poll(() => page.getByText("send", { exact: true }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(screenshots, "admin-queues.png") });
    expect(csp).toEqual([]);
    await context.close();
  });
});
