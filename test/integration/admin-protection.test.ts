import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { spawnEntry, type Spawned } from "../helpers/spawn.js";

const TOKEN = "admin-token-protect-0123456789";
const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`;
const ORIGIN = "http://paperboy.test";

describe("admin: state-changing requests only from this site's pages", () => {
  let rt: TestRuntime;
  let app: App;
  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: TOKEN });
    app = await rt.app();
  });
  afterAll(async () => {
    await rt?.close();
  });

  const addJob = (headers: Record<string, string>) =>
    app.inject({ method: "POST", url: "/admin/queues/api/queues/send/add", headers: { authorization: basic, "content-type": "application/json", ...headers }, payload: { name: "send", data: { digestIds: [1] } } });

  it("a cross-site POST to bull-board's add-job route with cached basic credentials runs nothing", async () => {
    for (const headers of <Record<string, string>[]>[
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
      { "sec-fetch-site": "same-site", origin: "http://other.paperboy.test" },
      { origin: "null" },
      {},
    ]) {
      const res = await addJob(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json<{ error: { code: string } }>().error.code).toBe("FORBIDDEN");
    }
    for (const url of ["/admin/queues/api/queues/pause", "/admin/queues/api/queues/send/empty", "/admin/queues/api/queues/send/obliterate"]) {
      const res = await app.inject({ method: "PUT", url, headers: { authorization: basic, origin: "https://evil.example" } });
      expect(res.statusCode, url).toBe(403);
    }
    expect(await rt.queues.send.count()).toBe(0);
    expect(await rt.queues.send.isPaused()).toBe(false);
  });

  it("bull-board's own page (same origin) and a bearer script may still act", async () => {
    const fromPage = await addJob({ origin: ORIGIN, "sec-fetch-site": "same-origin" });
    expect(fromPage.statusCode).toBe(200);
    const script = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(script.statusCode).toBe(200);
    expect(await rt.queues.send.count()).toBe(1);
  });

  it("an admin form posted by a browser passes on Sec-Fetch-Site even when it says Origin: null", async () => {
    const res = await app.inject({ method: "POST", url: "/admin/actions/plan", headers: { authorization: basic, origin: "null", "sec-fetch-site": "same-origin" } });
    expect(res.statusCode).toBe(303);
    const page = await app.inject({ method: "GET", url: "/admin", headers: { authorization: basic } });
    expect(page.headers["referrer-policy"]).toBe("same-origin");
  });
});

describe("worker /metrics with ADMIN_TOKEN", () => {
  let rt: TestRuntime;
  let worker: Spawned | undefined;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    worker?.child.kill("SIGTERM");
    if (worker) await worker.exited;
    await rt?.close();
  });

  it("asks for the token like the API's /metrics, and serves it with bearer or basic auth", async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    worker = spawnEntry("src/main/worker.ts", [], { ...runtimeEnv(rt), ADMIN_TOKEN: TOKEN, WORKER_METRICS_PORT: String(port), SCHEDULER_ENABLED: "false", LOG_LEVEL: "info" });
    await worker.waitForOutput(/worker started/, 60_000);
    const url = `http://127.0.0.1:${port}/metrics`;
    for (const authorization of [undefined, "Bearer wrong-wrong-wrong-wrong", `Basic ${Buffer.from("admin:nope").toString("base64")}`]) {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="paperboy admin"/);
      expect(await res.text()).not.toContain("paperboy_");
    }
    for (const authorization of [`Bearer ${TOKEN}`, basic]) {
      const res = await fetch(url, { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("paperboy_emails_total");
    }
  });
});
