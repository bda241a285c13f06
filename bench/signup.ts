/**
 * Signup benchmark: `POST /api/subscriptions` of the real app (validation, rate limits,
 * per-address guard, the signup statement, the mail job on Redis) with a distinct
 * address per request, at 32 connections, against a bare Fastify route in the same
 * process doing one INSERT of the same subscriber row into the same database. Goal:
 * ≥ 50 % of the baseline's requests per second, and p99 ≤ 25 ms.
 *
 * The load generator (autocannon) runs in a child process so it does not share the
 * servers' event loop. The rate limits are raised for the run (they would answer 429
 * after 10 requests); logging is at `warn` (per-request info lines would go to the
 * terminal). No worker runs: the mail jobs stay in Redis under the bench's own prefix
 * and are deleted at the end, with the database.
 *
 *   node --import tsx bench/signup.ts
 *     BENCH_DURATION=10 (seconds per run), BENCH_CONNECTIONS=32, BENCH_ROUNDS=2 (alternating runs of each side)
 *     BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import Fastify from "fastify";
import { Redis } from "ioredis";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { createLogger } from "../src/logger.js";
import { openRuntime } from "../src/main/runtime.js";
import { buildServices } from "../src/main/services.js";
import { backendCpu, cpuSpent } from "./_cpu.js";
import { scratchDatabase } from "./_database.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface LoadResult {
  /** Filled in by the parent: CPU µs per request of this process (both servers live here) and of the Postgres backends. */
  nodeCpuUs?: number;
  pgCpuUs?: number;
  /** The Redis server's CPU per request (the whole server: anything else using it counts too). */
  redisCpuUs?: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

// ------------------------------------------------------------------ child: the load generator
if (process.argv[2] === "--load") {
  const [, , , url, tag] = process.argv;
  let n = 0;
  const body = (email: string) =>
    JSON.stringify({ email, topics: ["diffusion models", "test-time compute"], timezone: "Europe/Berlin", sendHour: 7, frequency: "daily" });
  const result = await autocannon({
    url: url!,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "paperboy-bench" },
        // A distinct address per request: every signup creates a subscriber, like the baseline's INSERT.
        setupRequest: (req) => ({ ...req, body: body(`${tag}-${process.pid}-${++n}@bench.example.org`) }),
      },
    ],
  });
  const out: LoadResult = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  process.send!(out);
  process.exit(0);
}

// ------------------------------------------------------------------ parent: the servers
let statsPool: pg.Pool | undefined;
let statsRedis: Redis | undefined;

/** CPU microseconds the Redis server has used (INFO cpu), 0 when unknown. */
async function redisCpu(): Promise<number> {
  if (!statsRedis) return 0;
  const info = await statsRedis.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1e6;
}

/**
 * One run of the load generator against url. Besides requests per second and latency it
 * records CPU per request (this process, the Postgres backends): wall-clock figures
 * move with whatever else the machine runs, CPU per request much less.
 */
function load(url: string, tag: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const cpu0 = process.cpuUsage();
    const pg0 = statsPool ? backendCpu(statsPool) : Promise.resolve(new Map<number, number>());
    const redis0 = redisCpu();
    const child = fork(fileURLToPath(import.meta.url), ["--load", url, tag], { execArgv: ["--import", "tsx"], stdio: "inherit" });
    child.once("message", (m) => {
      const r = m as LoadResult;
      const cpu = process.cpuUsage(cpu0);
      void Promise.all([pg0, statsPool ? backendCpu(statsPool) : new Map<number, number>(), redis0, redisCpu()]).then(([before, after, redisBefore, redisAfter]) => {
        let pgUs = 0;
        pgUs += cpuSpent(before, after);
        const n = Math.max(1, r.requests);
        resolve({ ...r, nodeCpuUs: (cpu.user + cpu.system) / n, pgCpuUs: pgUs / n, redisCpuUs: (redisAfter - redisBefore) / n });
      }, reject);
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
  });
}

const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `pbbench:${randomBytes(4).toString("hex")}`;
const db = scratchDatabase();

async function deletePrefix() {
  const redis = new Redis(redisUrl);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
}

const fmt = (r: LoadResult) =>
  `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(3)} ms  ` +
  `CPU/request: node ${(r.nodeCpuUs ?? 0).toFixed(0)} µs, postgres ${(r.pgCpuUs ?? 0).toFixed(0)} µs, redis ${(r.redisCpuUs ?? 0).toFixed(0)} µs  (${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`;

await db.create();
try {
  const config = loadConfig({
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    // Never connected to: no worker runs, so nothing is sent.
    SMTP_URL: "smtp://127.0.0.1:9",
    TOKEN_SECRET: "bench-secret-bench-secret-bench-secret-01",
    SCHEDULER_ENABLED: "false",
    SIGNUP_RATE_LIMIT_PER_IP: "1000000",
    SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000000",
  });
  const rt = await openRuntime(config, { logger: createLogger(config), role: "server" });
  // Wired as src/main/server.ts does.
  const app = await buildApp({ ...rt, ...(await buildServices(rt)) });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const appUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/subscriptions`;

  // The baseline: bare Fastify, JSON body, one INSERT of the same row through the same size of pool.
  const pool = new pg.Pool({ connectionString: db.url, max: config.DATABASE_POOL_SIZE });
  statsPool = new pg.Pool({ connectionString: db.url, max: 1 });
  statsRedis = new Redis(redisUrl);
  const bare = Fastify({ logger: false });
  bare.post("/subscribe", async (req, reply) => {
    const b = req.body as { email: string; timezone: string; sendHour: number; frequency: "daily" | "weekly" };
    await pool.query(
      `insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, consent_at, consent_ip, consent_user_agent)
       values ($1, 'pending', $2, $3, $4, 1, 10, false, now(), $5, $6)`,
      [b.email, b.timezone, b.sendHour, b.frequency, req.ip, req.headers["user-agent"] ?? null],
    );
    return reply.code(202).send({ status: "accepted" });
  });
  await bare.listen({ host: "127.0.0.1", port: 0 });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/subscribe`;

  console.log(`signup: ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} alternating rounds, distinct addresses`);
  // Warm both (JIT, pools, prepared plans), then alternate so load elsewhere falls on both alike.
  await load(bareUrl, "warm-bare");
  await load(appUrl, "warm-app");
  const base: LoadResult[] = [];
  const ours: LoadResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const b = await load(bareUrl, `bare${r}`);
    console.log(`  baseline (bare Fastify + one INSERT)  ${fmt(b)}`);
    base.push(b);
    const a = await load(appUrl, `app${r}`);
    console.log(`  paperboy POST /api/subscriptions      ${fmt(a)}`);
    ours.push(a);
  }
  const best = (xs: LoadResult[]) => xs.reduce((x, y) => (y.rps > x.rps ? y : x));
  const b = best(base);
  const a = best(ours);
  const share = a.rps / b.rps;
  // Requests the load generator gave up on at the end of a run still finish in the app: wait
  // until the signups and the jobs stop changing, then compare them (the warm-up included).
  const settled = async () => {
    let last = "";
    for (let i = 0; i < 100; i++) {
      const { rows } = await pool.query<{ n: string }>(`select count(*) as n from subscribers where email not like 'bare%' and email not like 'warm-bare%'`);
      const { waiting } = await rt.queues.mail.getJobCounts("waiting");
      const now = `${rows[0]?.n ?? 0}/${waiting}`;
      if (now === last) return { signups: Number(rows[0]?.n ?? 0), jobs: waiting ?? 0 };
      last = now;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the app's signups did not settle within 20 s");
  };
  const { signups, jobs } = await settled();
  console.log(`\nbest of each: baseline ${b.rps.toFixed(0)} req/s (p99 ${b.p99} ms) · paperboy ${a.rps.toFixed(0)} req/s (p99 ${a.p99} ms)`);
  console.log(`paperboy / baseline: ${(share * 100).toFixed(0)} % (goal ≥ 50 %) — ${share >= 0.5 ? "met" : "not met"}`);
  console.log(`paperboy p99: ${a.p99} ms (goal ≤ 25 ms) — ${a.p99 <= 25 ? "met" : "not met"}`);
  const cpu = (xs: LoadResult[]) => xs.reduce((t, r) => t + (r.nodeCpuUs ?? 0) + (r.pgCpuUs ?? 0), 0) / xs.length;
  const redisMean = (xs: LoadResult[]) => xs.reduce((t, r) => t + (r.redisCpuUs ?? 0), 0) / xs.length;
  console.log(
    `CPU per request (node + postgres, mean of the rounds): baseline ${cpu(base).toFixed(0)} µs · paperboy ${cpu(ours).toFixed(0)} µs, ` +
      `and the Redis server's ${redisMean(ours).toFixed(0)} µs (baseline rounds: ${redisMean(base).toFixed(0)} µs, other users of that Redis)`,
  );
  console.log(
    `mail jobs queued: ${jobs} for ${signups} signups stored by paperboy's runs (warm-up included) — ${jobs === signups ? "one each" : "MISMATCH"}`,
  );

  await bare.close();
  await pool.end();
  await statsPool.end();
  statsRedis.disconnect();
  await app.close();
  await rt.close();
} finally {
  await db.drop();
  await deletePrefix();
}
