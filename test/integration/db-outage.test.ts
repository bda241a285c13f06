import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../../src/db/client.js";
import { createQueues } from "../../src/jobs/queues.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { pgClient } from "../helpers/db.js";
import { freePort } from "../helpers/free-port.js";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-postgres.js";
import { deleteKeys, REDIS_URL } from "../helpers/runtime.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { spawnEntry, type Spawned } from "../helpers/spawn.js";

/**
 * The API against a Postgres of this file's own, restarted and stopped for real
 * (`pg_ctl restart -m fast` / `stop -m fast`): a lost connection is an error of the
 * request that held it, never the process's end, and the API answers 503 with
 * Retry-After while the database is away.
 */

const SECRET = "outage-secret-outage-secret-outage-01";
let postgres: PrivatePostgres;
let sink: SmtpSink;
let api: Spawned;
let base: string;
const prefix = `pbtest:${randomBytes(5).toString("hex")}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, output = () => api.output()): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-4000)}`);
    await sleep(100);
  }
}

const signup = (email: string) =>
  fetch(`${base}/api/subscriptions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, topics: ["diffusion models"] }),
    signal: AbortSignal.timeout(30_000),
  });

/** Resolves (with the time) once /readyz says ready. */
const ready = () => until("/readyz to be ready", async () => ((await fetch(`${base}/readyz`)).status === 200 ? Date.now() : undefined));

function expectAlive() {
  expect(api.child.exitCode, api.output().slice(-4000)).toBeNull();
  expect(api.output()).not.toMatch(/Unhandled 'error' event|uncaughtException/);
}

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  sink = await startSmtpSink({ parse: false });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnEntry("src/main/server.ts", [], {
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATABASE_URL: postgres.url,
    DATABASE_CONNECT_TIMEOUT_MS: "2000",
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_URL: sink.url,
    TOKEN_SECRET: SECRET,
    PUBLIC_URL: "http://paperboy.test",
    SCHEDULER_ENABLED: "false",
    SIGNUP_RATE_LIMIT_PER_IP: "100000",
  });
  await ready();
}, 120_000);

afterAll(async () => {
  api?.child.kill("SIGKILL");
  await api?.exited;
  await postgres?.destroy();
  await sink?.close();
  await deleteKeys(prefix);
});

describe("a Postgres restart", () => {
  it("fails the signup whose transaction it cut with 503 and Retry-After; the API stays up and is ready again", async () => {
    const email = `held-${randomBytes(4).toString("hex")}@example.org`;
    // Another session's uncommitted insert of the address holds its unique key, so the API's
    // signup statement waits inside its transaction for that one to end.
    const holder = pgClient(postgres.url);
    await holder.connect();
    await holder.query("begin");
    await holder.query("insert into subscribers (email, status) values ($1, 'pending')", [email]);
    const watcher = pgClient(postgres.url);
    await watcher.connect();
    const pending = signup(email);
    await until("the signup to wait on its lock", async () => {
      // Not from the holder: inside its transaction pg_stat_activity is one frozen snapshot.
      const { rows } = await watcher.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and state = 'active' and query like '%pending_signups%'",
      );
      return rows[0]?.n === 1 ? true : undefined;
    });
    await watcher.end();

    await postgres.restart();
    const back = Date.now();
    const res = await pending;
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ error: { code: "DATABASE_UNAVAILABLE" } });

    const readyAt = await ready();
    expect(readyAt - back).toBeLessThan(15_000);
    expectAlive();
    // The address was never half-stored: signing up again works and queues the confirmation (a worker sends it).
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queues = createQueues(connection, prefix);
    try {
      const before = (await queues.mail.getJobCounts("waiting")).waiting ?? 0;
      expect((await signup(email)).status).toBe(202);
      expect((await queues.mail.getJobCounts("waiting")).waiting).toBe(before + 1);
    } finally {
      await queues.close();
      connection.disconnect();
    }
    const check = pgClient(postgres.url);
    await check.connect();
    const { rows } = await check.query<{ subscribers: number; pending: number }>(
      "select (select count(*)::int from subscribers where lower(email) = lower($1)) as subscribers, (select count(*)::int from pending_signups p join subscribers s on s.id = p.subscriber_id where lower(s.email) = lower($1)) as pending",
      [email],
    );
    await check.end();
    expect(rows[0]).toEqual({ subscribers: 1, pending: 1 });
    await holder.end().catch(() => undefined);
  }, 90_000);

  it("under 20 signups a second answers 202 or 503, never 500, and serves again within seconds", async () => {
    const statuses: { status: number; retryAfter: string | null; at: number }[] = [];
    const inflight: Promise<void>[] = [];
    let stop = false;
    let n = 0;
    const load = (async () => {
      while (!stop) {
        const email = `load-${n++}-${randomBytes(3).toString("hex")}@example.org`;
        inflight.push(
          signup(email).then(
            async (r) => {
              statuses.push({ status: r.status, retryAfter: r.headers.get("retry-after"), at: Date.now() });
              await r.body?.cancel();
            },
            (err: unknown) => {
              statuses.push({ status: -1, retryAfter: String(err), at: Date.now() });
            },
          ),
        );
        await sleep(50);
      }
    })();
    await sleep(1500);
    await postgres.restart();
    const back = Date.now();
    await ready();
    // Keep the load on until signups have gone through again for a while.
    await until("signups to succeed after the restart", async () => (statuses.filter((s) => s.at > back + 500 && s.status === 202).length >= 10 ? true : undefined));
    stop = true;
    await load;
    await Promise.all(inflight);

    expectAlive();
    const byStatus = statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
    // Signups that met the restart were refused as "try again", the others went through.
    expect(Object.keys(byStatus).map(Number).sort(), JSON.stringify(byStatus)).toEqual([202, 503]);
    expect(byStatus[202]).toBeGreaterThan(10);
    for (const s of statuses.filter((x) => x.status === 503)) expect(Number(s.retryAfter)).toBeGreaterThan(0);
  }, 90_000);
});

describe("while Postgres is down", () => {
  it("the API answers 503 with Retry-After: JSON for the API, a friendly page for people; ready again once it is back", async () => {
    await postgres.stop();
    try {
      await until("/readyz to say unavailable", async () => ((await fetch(`${base}/readyz`)).status === 503 ? true : undefined));

      const api503 = await signup("down@example.org");
      expect(api503.status).toBe(503);
      expect(api503.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(api503.headers.get("content-type")).toMatch(/application\/json/);
      expect(await api503.json()).toEqual({ error: { code: "DATABASE_UNAVAILABLE", message: expect.stringMatching(/try again/) as unknown } });

      const token = tokenFor({ publicUrl: "http://paperboy.test", secret: SECRET }, { id: 1, tokenVersion: 1 }, "manage");
      const page = await fetch(`${base}/manage?token=${encodeURIComponent(token)}`, { headers: { accept: "text/html" } });
      expect(page.status).toBe(503);
      expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      const body = await page.text();
      expect(body).toContain("Back in a moment");
      expect(body).toMatch(/try again in a few seconds/);

      const form = await fetch(`${base}/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "email=form-down%40example.org&topics=diffusion",
      });
      expect(form.status).toBe(503);
      expect(await form.text()).toContain("Back in a moment");
    } finally {
      await postgres.start();
    }
    const started = Date.now();
    expect((await ready()) - started).toBeLessThan(15_000);
    expect((await signup(`after-${randomBytes(3).toString("hex")}@example.org`)).status).toBe(202);
    expectAlive();
    // One warning line per failed request, no stack traces in the log.
    expect(api.output()).not.toMatch(/\n\s+at .*\.(?:js|ts):\d+/);
  }, 90_000);
});

describe("a worker in the middle of a plan job", () => {
  it("survives a Postgres restart: the job fails, is retried, and plans the digest once Postgres is back", async () => {
    // The app's pool: every client, idle or checked out, hears its connection drop at the restart.
    const db = createPool(postgres.url, { max: 2 });
    const { rows } = await db.query<{ id: number }>(
      "insert into subscribers (email, status, confirmed_at, send_hour, timezone) values ($1, 'active', now(), 0, 'UTC') returning id",
      [`planned-${randomBytes(3).toString("hex")}@example.org`],
    );
    const subscriberId = rows[0]!.id;
    const worker = spawnEntry("src/main/worker.ts", [], {
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      DATABASE_URL: postgres.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      TOKEN_SECRET: SECRET,
      PUBLIC_URL: "http://paperboy.test",
      SCHEDULER_ENABLED: "false",
    });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    // The app's own queues: a plan job gets the attempts and backoff the scheduler's would.
    const queues = createQueues(connection, prefix);
    const plan = queues.plan;
    const holder = pgClient(postgres.url);
    try {
      await worker.waitForOutput(/worker started/, 60_000);
      // The plan's chunk transaction reads digests; holding the table makes it wait inside that transaction.
      await holder.connect();
      await holder.query("begin");
      await holder.query("lock table digests in access exclusive mode");
      const job = await plan.add("plan", { at: new Date().toISOString() }, { jobId: `outage-${randomBytes(3).toString("hex")}` });
      await until("the plan job to wait inside its transaction", async () => {
        // Not from the holder: inside its transaction pg_stat_activity is one frozen snapshot.
        const r = await db.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and state = 'active' and query like '%plan_due%'",
        );
        return r.rows[0]?.n === 1 ? true : undefined;
      });

      await postgres.restart();
      // The cut is this job's error: it waits for its retry (no need to sit out the backoff here).
      const failed = await until("the plan job to fail and wait for its retry", async () => ((await job.getState()) === "delayed" ? await plan.getJob(job.id!) : undefined));
      expect(failed?.failedReason).toMatch(/^Postgres connection lost during a transaction: (terminating connection|Connection terminated)/);
      await failed?.promote();
      const digest = await until(
        "the retried plan job to create the digest",
        async () => (await db.query<{ id: number }>("select id from digests where subscriber_id = $1", [subscriberId])).rows[0],
        60_000,
        () => worker.output(),
      );
      expect(digest.id).toBeGreaterThan(0);
      expect(worker.child.exitCode, worker.output().slice(-4000)).toBeNull();
      expect(worker.output()).not.toMatch(/Unhandled 'error' event|uncaughtException/);
      expect(worker.output()).toMatch(/postgres connection lost/);
    } finally {
      await holder.end().catch(() => undefined);
      worker.child.kill("SIGKILL");
      await worker.exited;
      await queues.close();
      connection.disconnect();
      await db.end();
    }
  }, 120_000);
});
