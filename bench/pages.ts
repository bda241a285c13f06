/**
 * Pages benchmark: `/` (the Daily Papers page) for a 50-paper listing day under 32
 * concurrent connections, against Fastify serving a static string of the same size,
 * in the same process, with the same load generator (autocannon). Goal: ≥ 30 % of the
 * baseline's requests per second and p99 ≤ 50 ms.
 *
 * The app is the real one (buildApp on openRuntime: Postgres, Redis, every plugin and
 * hook, request logging at LOG_LEVEL, default warn here as a production deployment
 * would run it; set BENCH_LOG_LEVEL=info to include per-request log lines). Each request
 * is a full GET without validators, so it pays the listing query on every hit; the rendered page is
 * reused while that query says nothing changed. The two sides alternate in rounds and
 * the medians are printed: on a shared machine single rounds swing.
 *
 *   npm run bench -- pages
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import Fastify from "fastify";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { createLogger } from "../src/logger.js";
import { openRuntime } from "../src/main/runtime.js";
import { buildServices } from "../src/main/services.js";

const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAPERS = 50;

function serverUrl(db: string): string {
  const u = new URL(process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  u.pathname = `/${db}`;
  return u.toString();
}

const WORDS = "diffusion models reasoning test-time compute language agents benchmark scaling tokens verifier sampling policy reward attention retrieval multimodal alignment".split(" ");
const words = (n: number, seed: number) => Array.from({ length: n }, (_, k) => WORDS[(seed * 7 + k * 3) % WORDS.length]).join(" ");

interface Result {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string): Promise<Result> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  const name = `paperboy_bench_pages_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: serverUrl("postgres"), max: 1 });
  await admin.query(`create database "${name}"`);
  const prefix = `pbbench:${randomBytes(4).toString("hex")}`;
  const config = loadConfig({
    NODE_ENV: "production",
    DATABASE_URL: serverUrl(name),
    REDIS_URL: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    QUEUE_PREFIX: prefix,
    SMTP_URL: "smtp://127.0.0.1:2525",
    TOKEN_SECRET: "bench-secret-bench-secret-bench-secret-01",
    PUBLIC_URL: "http://127.0.0.1",
    SCHEDULER_ENABLED: "false",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
  });
  const rt = await openRuntime(config, { logger: createLogger(config), role: "server" });
  const app = await buildApp({ ...rt, ...(await buildServices(rt)) });
  const baseline = Fastify();
  try {
    await rt.pool.query(
      `insert into papers (arxiv_id, title, abstract, authors, listing_day, arxiv_url, pdf_url, hf_url, github_repo, ai_summary, ai_keywords, upvotes, first_seen_at, published_at)
       select '2511.' || lpad(g::text, 5, '0'), $1 || ' (' || g || ')', $2, array_fill('Ada Lovelace'::text, array[3 + g % 12]),
              '2026-11-27', 'https://arxiv.org/abs/2511.' || g, 'https://arxiv.org/pdf/2511.' || g, 'https://huggingface.co/papers/2511.' || g,
              case when g % 2 = 0 then 'example/repo-' || g end, case when g % 3 = 0 then $3 end, array['diffusion','reasoning','agents'],
              (g * 37) % 400, '2026-11-27T06:00:00Z', '2026-11-26T12:00:00Z'
       from generate_series(1, ${PAPERS}) g`,
      [`Scaling ${words(10, 1)}`, words(190, 2), words(40, 3)],
    );
    await rt.pool.query(`analyze papers`);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const ours = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
    const page = await (await fetch(ours)).text();
    if (!page.includes("Daily Papers")) throw new Error("the page did not render");
    const body = "x".repeat(Buffer.byteLength(page));
    baseline.get("/", (_req, reply) => reply.type("text/html; charset=utf-8").send(body));
    await baseline.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(baseline.server.address() as { port: number }).port}/`;
    process.stdout.write(`page: ${PAPERS} papers, ${(Buffer.byteLength(page) / 1024).toFixed(1)} KB; ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds\n`);

    // Warm both (JIT, pool connections, prepared statements).
    await autocannon({ url: ours, connections: CONNECTIONS, duration: 2 });
    await autocannon({ url: base, connections: CONNECTIONS, duration: 2 });
    const a: Result[] = [];
    const b: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const x = await load(ours);
      const y = await load(base);
      a.push(x);
      b.push(y);
      process.stdout.write(
        `round ${round + 1}: / ${x.rps.toFixed(0)} req/s p99 ${x.p99} ms (${x.non2xx} non-2xx, ${x.errors} errors) · static ${y.rps.toFixed(0)} req/s p99 ${y.p99} ms\n`,
      );
    }
    const rps = median(a.map((r) => r.rps));
    const p99 = median(a.map((r) => r.p99));
    const baseRps = median(b.map((r) => r.rps));
    const share = rps / baseRps;
    process.stdout.write(
      `\n/ (Daily Papers): ${rps.toFixed(0)} req/s, p99 ${p99} ms\n` +
        `static string of the same size: ${baseRps.toFixed(0)} req/s, p99 ${median(b.map((r) => r.p99))} ms\n` +
        `share of baseline: ${(share * 100).toFixed(0)} % (goal ≥ 30 %) ${share >= 0.3 ? "met" : "NOT met"}; ` +
        `p99 ${p99} ms (goal ≤ 50 ms) ${p99 <= 50 ? "met" : "NOT met"}\n`,
    );
    if (a.some((r) => r.errors > 0 || r.non2xx > 0)) throw new Error("the page answered with errors under load");
  } finally {
    await baseline.close();
    await app.close();
    await rt.close();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
    const { Redis } = await import("ioredis");
    const redis = new Redis(config.REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
