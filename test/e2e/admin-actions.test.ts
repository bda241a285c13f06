import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { launchBrowser } from "../helpers/browser.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const TOKEN = "admin-token-actions-0123456789";

describe("admin actions clicked in Chromium", () => {
  let rt: TestRuntime;
  let app: App;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let evil: Server;
  let evilBase: string;
  let failedId: number;

  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: TOKEN, PAPERS_SOURCES: "huggingface,arxiv" });
    app = await rt.app();
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    browser = await launchBrowser();
    // Basic credentials the browser replays on its own, as after a login prompt.
    context = await browser.newContext({ httpCredentials: { username: "admin", password: TOKEN } });
    page = await context.newPage();

    await rt.pool.query(`insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes)
      values ('2611.08888', 'Latent diffusion models for tide charts', 'Diffusion models forecast tides.', '2030-01-01',
              'https://arxiv.org/abs/2611.08888', 'https://arxiv.org/pdf/2611.08888', 5)`);
    const { rows } = await rt.db.execute<{ id: string }>(sql`
      with s as (insert into subscribers (email, status, confirmed_at) values ('failed@example.org', 'active', now()) returning id)
      insert into digests (subscriber_id, period, status, covers_to, attempts, error)
      select id, '2026-11-25', 'failed', now(), 5, '421 try later' from s returning id::text`);
    failedId = Number(rows[0]?.id);

    // Another site (localhost is not 127.0.0.1) whose pages post to the admin on their own.
    evil = createServer((req, res) => {
      const target = req.url === "/board" ? `${base}/admin/queues/api/queues/plan/add` : `${base}/admin/actions/plan`;
      res.writeHead(200, { "content-type": "text/html" }).end(
        `<!doctype html><form id="f" method="post" action="${target}" enctype="text/plain"><input name='{"name":"plan","data":{},"x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", () => resolve()));
    evilBase = `http://localhost:${(evil.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
    await rt?.close();
  });

  async function clickAndSeeNotice(button: string, notice: string, scope = page.locator("body")) {
    await scope.getByRole("button", { name: button }).click();
    await page.waitForURL(/\/admin\?done=/);
    await expect.poll(() => page.getByRole("status").textContent()).toBe(notice);
  }

  it("ingest now queues an ingest for the chosen day and source", async () => {
    await page.goto(`${base}/admin`);
    const form = page.locator('form[action="/admin/actions/ingest"]');
    await form.locator("#ingest-day").fill("2026-11-20");
    await form.locator("#ingest-source").selectOption("arxiv");
    await clickAndSeeNotice("Queue ingest", "Ingest queued.", form);
    const jobs = await rt.queues.ingest.getJobs(["waiting"]);
    expect(jobs.map((j) => j.data)).toEqual([{ day: "2026-11-20", source: "arxiv" }]);
  });

  it("plan now queues a plan run for now", async () => {
    await page.goto(`${base}/admin`);
    await clickAndSeeNotice("Queue plan", "Plan queued: due digests will be planned and sent.");
    const jobs = await rt.queues.plan.getJobs(["waiting"]);
    expect(jobs).toHaveLength(1);
    expect(Math.abs(Date.parse(String(jobs[0]?.data.at)) - Date.now())).toBeLessThan(60_000);
  });

  it("send a test digest sends it to the address typed", async () => {
    await page.goto(`${base}/admin`);
    const form = page.locator('form[action="/admin/actions/test-digest"]');
    await form.locator("#test-email").fill("editor@bücher.example");
    await form.locator("#test-topics").fill("diffusion models\ntide charts");
    await clickAndSeeNotice("Send test digest", "Test digest sent.", form);
    const [mail] = await rt.sink.waitFor(1);
    expect(mail?.raw.toString("latin1")).toMatch(/^To: editor@xn--bcher-kva\.example\r$/m);
    expect(mail?.parsed.subject).toMatch(/^\[Test\] /);
    expect(mail?.parsed.text).toContain("Latent diffusion models for tide charts");
  });

  it("resend puts the failed digest back in the queue", async () => {
    await page.goto(`${base}/admin`);
    const row = page.locator("tr", { has: page.locator(`form[action="/admin/digests/${failedId}/resend"]`) });
    await clickAndSeeNotice("Resend", "Digest queued for sending again.", row);
    const { rows } = await rt.db.execute<{ status: string; attempts: number }>(sql`select status::text, attempts from digests where id = ${failedId}`);
    expect(rows[0]).toEqual({ status: "queued", attempts: 0 });
    const jobs = await rt.queues.send.getJobs(["waiting"]);
    expect(jobs.filter((j) => (j.data).digestIds.includes(failedId))).toHaveLength(1);
    // The failed list no longer offers it.
    await expect.poll(() => page.locator(`form[action="/admin/digests/${failedId}/resend"]`).count()).toBe(0);
  });

  it("bull-board's own requests from its page still act (same origin)", async () => {
    await page.goto(`${base}/admin/queues`);
    // What bull-board's pause button sends, from its own page.
    const status = await page.evaluate(async () => (await fetch("/admin/queues/api/queues/pause", { method: "PUT" })).status);
    expect(status).toBe(200);
    expect(await rt.queues.plan.isPaused()).toBe(true);
    expect(await page.evaluate(async () => (await fetch("/admin/queues/api/queues/resume", { method: "PUT" })).status)).toBe(200);
    expect(await rt.queues.plan.isPaused()).toBe(false);
  });

  it("another site's page posting to the admin and to bull-board with the cached credentials is refused", async () => {
    const plansBefore = await rt.queues.plan.count();
    for (const path of ["/action", "/board"]) {
      const attacked = page.waitForResponse((r) => r.url().startsWith(base) && r.request().method() === "POST" && r.status() !== 401);
      await page.goto(`${evilBase}${path}`);
      const res = await attacked;
      expect(res.status(), path).toBe(403);
      // The credentials were replayed (the token guard answers 401 before this one): the same-site guard refused it.
      expect(await res.text(), path).toContain("Admin actions must be sent from the admin pages of this site");
    }
    expect(await rt.queues.plan.count()).toBe(plansBefore);
  });
});
