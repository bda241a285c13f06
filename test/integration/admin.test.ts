import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const TOKEN = "admin-token-0123456789abcdef";
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const ORIGIN = "http://paperboy.test";

describe("admin with ADMIN_TOKEN", () => {
  let rt: TestRuntime;
  let app: App;
  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: TOKEN, PAPERS_SOURCES: "huggingface,arxiv" });
    app = await rt.app();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("refuses without the token or with a wrong one, asking the browser for basic auth", async () => {
    for (const authorization of [undefined, `Bearer wrong-token-wrong-token`, basic("admin", "nope"), "Basic !!!", `Bearer ${TOKEN}x`]) {
      const res = await app.inject({ method: "GET", url: "/admin", headers: authorization ? { authorization } : {} });
      expect(res.statusCode).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Basic realm="paperboy admin"/);
      expect(res.body).not.toContain("Digests per day");
    }
    const board = await app.inject({ method: "GET", url: "/admin/queues" });
    expect(board.statusCode).toBe(401);
    const api = await app.inject({ method: "GET", url: "/admin/queues/api/queues" });
    expect(api.statusCode).toBe(401);
    const post = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { origin: ORIGIN } });
    expect(post.statusCode).toBe(401);
  });

  it("shows the dashboard with a bearer token and with basic auth (any user name)", async () => {
    await rt.db.execute(sql`insert into subscribers (email, status, confirmed_at) values ('a@example.org', 'active', now()), ('b@example.org', 'pending', null), ('c@example.org', 'active', now())`);
    await rt.db.execute(sql`insert into ingest_runs (source, day, status, fetched, inserted, error, finished_at, duration_ms)
      values ('huggingface', '2026-11-27', 'failed', 12, 0, 'HF answered 503 <Service Unavailable>', now(), 1500)`);
    for (const authorization of [`Bearer ${TOKEN}`, basic("anyone", TOKEN), basic("", TOKEN)]) {
      const res = await app.inject({ method: "GET", url: "/admin", headers: { authorization, accept: "text/html" } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toContain("text/html");
      expect(res.body).toContain('<td data-status="active">2</td>');
      expect(res.body).toContain('<td data-status="pending">1</td>');
      expect(res.body).toContain("HF answered 503 &lt;Service Unavailable&gt;");
      expect(res.body.match(/<g class="day"/g)).toHaveLength(30);
      expect(res.body).toMatch(/<tr data-queue="send">/);
      // No inline scripts: the strict CSP stays intact.
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/);
    }
  });

  it("lists queue depths and the next scheduled runs", async () => {
    await rt.queues.plan.upsertJobScheduler("plan", { pattern: "0 * * * *", tz: "UTC" }, { name: "plan", data: {} });
    await rt.queues.send.add("send", { digestIds: [999_001] }, { delay: 60_000 });
    const res = await app.inject({ method: "GET", url: "/admin", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.body).toContain("<code>0 * * * *</code>");
    const sendRow = /<tr data-queue="send">(.*?)<\/tr>/s.exec(res.body)?.[1] ?? "";
    // waiting, active, delayed: the delayed job shows up in the third column.
    expect([...sendRow.matchAll(/<td>(\d+)<\/td>/g)].map((m) => Number(m[1])).slice(0, 3)).toEqual([0, 0, 1]);
  });

  it("serves bull-board behind the same token", async () => {
    const page = await app.inject({ method: "GET", url: "/admin/queues", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<base href="/admin/queues/"');
    const api = await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.statusCode).toBe(200);
    const names = (api.json<{ queues: { name: string }[] }>().queues).map((q) => q.name).sort();
    expect(names).toEqual(["ingest", "mail", "plan", "send"]);
  });

  it("queues ingest for a day and source, and plan, from the dashboard forms", async () => {
    const auth = basic("admin", TOKEN);
    const ingest = await app.inject({
      method: "POST",
      url: "/admin/actions/ingest",
      headers: { authorization: auth, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      payload: "day=2026-11-20&source=arxiv",
    });
    expect(ingest.statusCode).toBe(303);
    expect(ingest.headers.location).toBe("/admin?done=ingest");
    const waiting = await rt.queues.ingest.getJobs(["waiting"]);
    expect(waiting.map((j) => j.data)).toContainEqual({ day: "2026-11-20", source: "arxiv" });

    const plan = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: auth, referer: `${ORIGIN}/admin` } });
    expect(plan.statusCode).toBe(303);
    const planned = await rt.queues.plan.getJobs(["waiting"]);
    expect(planned.some((j) => typeof j.data.at === "string" && Math.abs(Date.parse(j.data.at) - Date.now()) < 60_000)).toBe(true);

    const notice = await app.inject({ method: "GET", url: "/admin?done=ingest", headers: { authorization: auth } });
    expect(notice.body).toContain("Ingest queued.");
  });

  it("refuses a basic-auth form post from another origin (CSRF) but takes a bearer script", async () => {
    const foreign = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: basic("a", TOKEN), origin: "https://evil.example" } });
    expect(foreign.statusCode).toBe(403);
    const none = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: basic("a", TOKEN) } });
    expect(none.statusCode).toBe(403);
    const script = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(script.statusCode).toBe(200);
    expect(script.json()).toMatchObject({ ok: true });
  });

  it("rejects a bad ingest day or an unknown source, naming the field", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" };
    const badDay = await app.inject({ method: "POST", url: "/admin/actions/ingest", headers, payload: "day=2026-02-31" });
    expect(badDay.statusCode).toBe(400);
    const badSource = await app.inject({ method: "POST", url: "/admin/actions/ingest", headers, payload: "day=2026-11-20&source=file:/etc/passwd" });
    expect(badSource.statusCode).toBe(400);
  });

  it("puts a failed digest back in the queue once, with attempts reset", async () => {
    const { rows } = await rt.db.execute<{ id: string }>(sql`
      insert into digests (subscriber_id, period, status, covers_to, attempts, error)
      select id, '2026-11-25', 'failed', now(), 5, '421 try later' from subscribers where email = 'a@example.org' returning id::text`);
    const id = Number(rows[0]?.id);
    const before = await app.inject({ method: "GET", url: "/admin", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(before.body).toContain(`action="/admin/digests/${id}/resend"`);

    const headers = { authorization: basic("a", TOKEN), origin: ORIGIN };
    const res = await app.inject({ method: "POST", url: `/admin/digests/${id}/resend`, headers });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/admin?done=resend");
    const { rows: after } = await rt.db.execute<{ status: string; attempts: number; error: string | null }>(sql`select status::text, attempts, error from digests where id = ${id}`);
    expect(after[0]).toEqual({ status: "queued", attempts: 0, error: null });
    const jobs = await rt.queues.send.getJobs(["waiting"]);
    expect(jobs.filter((j) => j.data.digestIds.includes(id))).toHaveLength(1);

    const again = await app.inject({ method: "POST", url: `/admin/digests/${id}/resend`, headers });
    expect(again.headers.location).toBe("/admin?done=resend-none");
    expect((await rt.queues.send.getJobs(["waiting"])).filter((j) => j.data.digestIds.includes(id))).toHaveLength(1);
  });

  it("sends a test digest for given topics to any address; its footer says it is a test and every link of ours works", async () => {
    await rt.pool.query(`insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes)
      values ('2611.07777', 'Latent diffusion models for weather maps', 'Diffusion models forecast rain.', '2030-01-01',
              'https://arxiv.org/abs/2611.07777', 'https://arxiv.org/pdf/2611.07777', 12)`);
    const before = rt.sink.messages.length;
    const res = await app.inject({
      method: "POST",
      url: "/admin/actions/test-digest",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      payload: "email=me@example.org&topics=diffusion models",
    });
    expect(res.statusCode).toBe(200);
    const messages = await rt.sink.waitFor(before + 1);
    const mail = messages[before]?.parsed;
    expect(mail?.subject).toMatch(/^\[Test\] /);
    expect(mail?.html).toContain("for weather maps");
    expect(mail?.text).toContain("Latent diffusion models for weather maps");
    expect(mail?.text).toContain("This is a test digest, sent to me@example.org from paperboy's admin page");
    expect(mail?.html).toContain("It belongs to no subscription");
    // No manage, unsubscribe or view link carrying a token for nobody; every link to this site answers.
    const ours = [...String(mail?.html).matchAll(/href="http:\/\/paperboy\.test([^"]*)"/g)].map((m) => m[1]!.replace(/&#x3D;/g, "=").replace(/&amp;/g, "&"));
    expect(ours).toEqual(["/"]);
    expect(mail?.text).toContain("Subscribe to get digests like this: http://paperboy.test/");
    expect(mail?.text).not.toMatch(/token=/);
    for (const path of ours) expect((await app.inject({ method: "GET", url: path })).statusCode).toBe(200);
  });

  it("sends a trending test digest when no topic is given: the latest day's papers by upvotes, each saying why", async () => {
    await rt.pool.query(`insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes)
      values ('2611.08888', 'Most upvoted of the day', 'A.', '2030-01-01', 'https://arxiv.org/abs/2611.08888', 'https://arxiv.org/pdf/2611.08888', 212)`);
    const before = rt.sink.messages.length;
    const res = await app.inject({
      method: "POST",
      url: "/admin/actions/test-digest",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      payload: "email=me@example.org&topics=",
    });
    expect(res.statusCode).toBe(200);
    const mail = (await rt.sink.waitFor(before + 1))[before]?.parsed;
    const text = mail?.text ?? "";
    expect(text.indexOf("Most upvoted of the day")).toBeLessThan(text.indexOf("Latent diffusion models for weather maps"));
    expect(text).toContain("trending: 212 upvotes");
    expect(text).toContain("trending: 12 upvotes");
  });

  it("requires the token for /metrics and exposes the named series", async () => {
    expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    await app.inject({ method: "GET", url: "/healthz" });
    const res = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toMatch(/paperboy_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} [1-9]/);
    expect(res.body).toMatch(/paperboy_http_request_duration_seconds_count\{method="GET",route="\/admin",status_code="401"\} [1-9]/);
    expect(res.body).toContain("paperboy_process_cpu_user_seconds_total");
  });
});

describe("admin without ADMIN_TOKEN", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("is off on every admin URL and says how to turn it on", async () => {
    const app = await rt.app();
    const page = await app.inject({ method: "GET", url: "/admin", headers: { accept: "text/html" } });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain("Admin is off");
    expect(page.body).toContain("ADMIN_TOKEN");
    for (const url of ["/admin", "/admin/queues", "/admin/queues/api/queues"]) {
      const res = await app.inject({ method: "GET", url, headers: { authorization: "Bearer whatever-whatever-whatever" } });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: "ADMIN_DISABLED", message: "Admin is off: set ADMIN_TOKEN to turn it on." } });
    }
    const post = await app.inject({ method: "POST", url: "/admin/actions/plan" });
    expect(post.statusCode).toBe(404);
    expect(await rt.queues.plan.count()).toBe(0);
  });

  it("serves /metrics openly when no ADMIN_TOKEN is set", async () => {
    const app = await rt.app();
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("paperboy_emails_total");
  });
});
