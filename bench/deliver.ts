/**
 * Deliver benchmark: digests end to end — claim each (conditional update), fetch the
 * batch's papers in one query, render (compiled fill), build MIME once per template
 * and fill it, send through pooled nodemailer, mark sent — into a local smtp-server
 * sink running in its own process. Runs 2k then 20k digests and prints messages per
 * second and peak RSS of each, then the same 20k with nodemailer composing every
 * message itself (the baseline). Creates and drops its own database on
 * 127.0.0.1:5432 (BENCH_DATABASE_URL to change).
 *
 *   npx tsx bench/deliver.ts            (BENCH_DIGESTS=20000 BENCH_POOL=8 BENCH_BATCH=250 BENCH_CONCURRENCY=2)
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createPool } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { createDigestRenderer } from "../src/digests/render.js";
import { createDigestSender, type DigestSender } from "../src/digests/send.js";
import { createLogger } from "../src/logger.js";
import { createMimeWriter, type MimeWriter } from "../src/mail/mime.js";
import { createSmtpMailer } from "../src/mail/transport.js";

const N = Number(process.env.BENCH_DIGESTS ?? 20_000);
const SMALL = Math.min(2000, N);
const POOL = Number(process.env.BENCH_POOL ?? 8);
const BATCH = Number(process.env.BENCH_BATCH ?? 250);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const PAPERS_PER_DAY = 300;
const admin = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `paperboy_bench_${randomBytes(4).toString("hex")}`;
const dbUrl = (() => {
  const u = new URL(admin);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

async function adminQuery(sql: string) {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function startSink(): Promise<{ child: ChildProcess; port: number; ask: <T>(type: string) => Promise<T> }> {
  const child = fork(fileURLToPath(new URL("./_sink.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"] });
  const ask = <T>(type: string) =>
    new Promise<T>((resolve) => {
      child.once("message", (m) => resolve(m as T));
      child.send({ type });
    });
  return new Promise((resolve) => child.once("message", (m) => resolve({ child, port: (m as { port: number }).port, ask })));
}

/** A day's worth: PAPERS_PER_DAY papers, n subscribers, one queued digest each with 20 of those papers. */
async function seed(pool: pg.Pool, n: number) {
  const filler =
    "We study diffusion language models and the role of test-time compute in multi-step reasoning, comparing denoising schedules, verifier-guided sampling and autoregressive baselines across math, code and planning benchmarks. ";
  await pool.query(
    `insert into papers (arxiv_id, title, abstract, authors, listing_day, upvotes, arxiv_url, pdf_url, hf_url, github_repo)
     select '2511.' || lpad(g::text, 5, '0'),
            'Scaling diffusion models for reasoning with test-time compute, study ' || g,
            repeat($1, 6), array['Ada Lovelace','Alan Turing','Grace Hopper','Edsger Dijkstra','Barbara Liskov','Donald Knuth'],
            '2026-11-27', g % 97, 'https://arxiv.org/abs/2511.' || lpad(g::text, 5, '0'), 'https://arxiv.org/pdf/2511.' || lpad(g::text, 5, '0'),
            'https://huggingface.co/papers/2511.' || lpad(g::text, 5, '0'), case when g % 2 = 0 then 'example/repo' || g end
     from generate_series(1, $2) g`,
    [filler, PAPERS_PER_DAY],
  );
  await pool.query(
    `insert into subscribers (email, status, confirmed_at) select 'bench' || g || '@example.org', 'active', now() from generate_series(1, $1) g`,
    [n],
  );
  await pool.query(`insert into topics (query) values ('diffusion'), ('test-time compute')`);
  await pool.query(
    `insert into digests (subscriber_id, period, status, covers_to, paper_count, paper_ids, matches)
     select s.id, '2026-11-28', 'queued', now(), 20, x.ids, x.matches
     from subscribers s
     cross join lateral (
       select array_agg((select min(id) from papers) + ((s.id * 7 + k) % $1) order by k) as ids,
              jsonb_agg(jsonb_build_object('score', 1.0 / k, 'topics', (select jsonb_agg(id order by id) from topics),
                                           'words', '["diffusion", "test-time", "compute"]'::jsonb) order by k) as matches
       from generate_series(1, 20) k
     ) x`,
    [PAPERS_PER_DAY],
  );
  await pool.query("analyze");
}

type Sink = Awaited<ReturnType<typeof startSink>>;
type Stats = { messages: number; bytes: number; cpuMicros: number };

async function run(label: string, pool: pg.Pool, sender: DigestSender, ids: number[], sink: Sink) {
  await pool.query("update digests set status = 'queued', claimed_at = null, attempts = 0, message_id = null, sent_at = null");
  global.gc?.();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const batches: number[][] = [];
  for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
  const sinkBefore = await sink.ask<Stats>("stats");
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  let sent = 0;
  // SEND_CONCURRENCY jobs at once, as a worker process runs them.
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const r = await sender.sendBatch(batches[next++]!);
        sent += r.sent;
        if (r.sent !== BATCH && r.sent + r.done !== BATCH && next < batches.length) throw new Error(`batch incomplete: ${JSON.stringify(r)}`);
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sinkAfter = await sink.ask<Stats>("stats");
  const senderCpu = (cpu.user + cpu.system) / sent;
  const sinkCpu = (sinkAfter.cpuMicros - sinkBefore.cpuMicros) / sent;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const line = `${label.padEnd(44)} ${String(sent).padStart(6)} sent in ${secs.toFixed(2)} s = ${(sent / secs).toFixed(0).padStart(5)} msg/s, peak RSS ${(peak / 1048576).toFixed(0)} MB`;
  process.stdout.write(`${line}\n${"".padEnd(44)} CPU per message: sender ${senderCpu.toFixed(0)} µs, sink ${sinkCpu.toFixed(0)} µs (Postgres not counted)\n`);
  return { sent, secs, peak, senderCpu };
}

async function main() {
  await adminQuery(`create database "${dbName}"`);
  const pool = createPool(dbUrl, POOL + 2);
  const sink = await startSink();
  const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${sink.port}`, from: "paperboy <digest@paperboy.localhost>", poolSize: POOL });
  try {
    await runMigrations(pool);
    process.stdout.write(`seeding ${N} digests × 20 papers (${PAPERS_PER_DAY} papers in the day)…\n`);
    await seed(pool, N);
    const ids = (await pool.query<{ id: number }>("select id from digests order by id")).rows.map((r) => r.id);

    const logger = createLogger({ LOG_LEVEL: "silent", NODE_ENV: "production" });
    const renderer = await createDigestRenderer({ publicUrl: "https://paperboy.example.org", secret: "bench-secret-bench-secret-bench-secret-01", postalAddress: "paperboy, 1 Example Street, 10115 Berlin" });
    const mime = createMimeWriter({
      from: mailer.from,
      staticHeaders: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": "paperboy <digest.paperboy.localhost>" },
    });
    const composed: MimeWriter = { ...mime, canWrite: () => false };
    const settings = { mailDomain: "paperboy.localhost", listId: "digest.paperboy.localhost", maxAttempts: 5, bounceLimit: 1, leaseMs: 120_000, lanes: Math.ceil(POOL / CONCURRENCY) };
    const fast = createDigestSender({ pool, mailer, renderer, mime, logger, settings });
    const baseline = createDigestSender({ pool, mailer, renderer, mime: composed, logger, settings });

    const probe = renderer.render({
      digestId: 1,
      period: "2026-11-28",
      recipient: { subscriberId: 1, tokenVersion: 1, email: "x@example.org", frequency: "daily", timezone: "UTC" },
      papers: (await (await import("../src/digests/batch-papers.js")).loadBatchPapers(pool, [ids[0]!])).get(ids[0]!) ?? [],
    });
    process.stdout.write(`digest size: HTML ${(probe.html.length / 1024).toFixed(1)} KB, text ${(probe.text.length / 1024).toFixed(1)} KB; SMTP pool ${POOL}, batch ${BATCH}, ${CONCURRENCY} batches at once\n`);

    // Warm-up (JIT, connections), not counted.
    await run("warm-up", pool, fast, ids.slice(0, Math.min(500, N)), sink);
    const small = await run(`MIME once per template, ${SMALL} digests`, pool, fast, ids.slice(0, SMALL), sink);
    const big = await run(`MIME once per template, ${N} digests`, pool, fast, ids, sink);
    const stats = await sink.ask<Stats>("stats");
    const base = await run(`baseline: nodemailer composes, ${N} digests`, pool, baseline, ids, sink);
    process.stdout.write(
      [
        `sink received ${stats.messages} messages (${(stats.bytes / stats.messages / 1024).toFixed(1)} KB each on the wire) so far`,
        `fast path ${(big.sent / big.secs).toFixed(0)} msg/s vs baseline ${(base.sent / base.secs).toFixed(0)} msg/s (${(big.secs ? base.secs / big.secs : 0).toFixed(2)}×); goal ≥ 2,500 msg/s`,
        `sender CPU per message: ${big.senderCpu.toFixed(0)} µs fast path vs ${base.senderCpu.toFixed(0)} µs baseline`,
        `peak RSS ${(small.peak / 1048576).toFixed(0)} MB at ${SMALL} vs ${(big.peak / 1048576).toFixed(0)} MB at ${N} digests`,
        "",
      ].join("\n"),
    );
  } finally {
    await mailer.close();
    // "stop" has no answer: the sink exits; waiting for a reply would hang before the database is dropped.
    await new Promise<void>((resolve) => {
      sink.child.once("exit", () => resolve());
      sink.child.send({ type: "stop" });
    });
    await pool.end();
    await adminQuery(`drop database if exists "${dbName}" with (force)`);
  }
}

await main();
