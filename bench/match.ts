/**
 * Benchmark: plan + match in Postgres vs a naive per-subscriber scan in JavaScript.
 *
 *   npx tsx bench/match.ts            (BENCH_DATABASE_URL picks the server; default 127.0.0.1:5432)
 *
 * Seeds its own database (dropped at the end): 100k subscribers × 3 topics drawn from
 * 5k distinct topics, 500 papers of one listing day. Plans at 10k, 50k and 100k active
 * subscribers and compares with a naive baseline run in this process on a sample of
 * subscribers, extrapolated linearly (the naive work is strictly per subscriber).
 *
 * Then the feedback run: 30 % of the 100k subscribers hold 10 votes each (7 "more", 3
 * "less", cast over the past 10 days) on 500 papers of the previous day, and the plan at
 * 100k runs again; its naive baseline also builds each voter's term profile and
 * re-ranks by it (digests/feedback.ts), in JavaScript.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import pg from "pg";
import { createDb, createPool, type Db } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { planDigests } from "../src/digests/plan.js";

const SUBSCRIBERS = 100_000;
const TOPICS = 5_000;
const PAPERS = 500;
const SIZES = (process.env.BENCH_SIZES ?? "10000,50000,100000").split(",").map(Number);
const NAIVE_SAMPLE = 1_000;
const NOW = new Date("2026-11-27T09:00:00Z");
const VOTER_SHARE = 0.3;
const VOTES_EACH = 10;

function serverUrl(db: string): string {
  const u = new URL(process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Deterministic synthetic vocabulary: 2,000 pronounceable words plus real field terms,
 * so topics hit a realistic few papers each (one-word topics ~17 of 500, two-word ~1).
 */
async function seed(db: Db): Promise<void> {
  await db.execute(sql`select setseed(0.42)`);
  await db.execute(sql`
    create unlogged table vocab as
    with syl as (select unnest(array['ka','lo','mi','ne','ru','ta','vo','pe','si','du','ga','ho','zi','be','fa','ny','qu','xe','wo','ji']) as s),
    words as (select a.s || b.s || c.s as w from syl a, syl b, syl c)
    select row_number() over (order by md5(w)) as n, w from words order by md5(w) limit 2000`);
  await db.execute(sql`
    insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes, first_seen_at, published_at)
    select '2511.' || lpad(g::text, 5, '0'),
           array_to_string(array(select v.a[1 + floor(random() * 2000)::int] from generate_series(1, 8 + 0 * g)), ' '),
           array_to_string(array(select v.a[1 + floor(random() * 2000)::int] from generate_series(1, 60 + 0 * g)), ' '),
           '2026-11-27', 'https://arxiv.org/abs/2511.' || g, 'https://arxiv.org/pdf/2511.' || g,
           floor(random() * random() * 300)::int, '2026-11-27T06:00:00Z', '2026-11-26T12:00:00Z'
    from generate_series(1, ${PAPERS}) g, (select array_agg(w order by n) as a from vocab) v`);
  // 1,000 one-word topics and 4,000 two-word ones.
  await db.execute(sql`
    insert into topics (query)
    select w from vocab where n % 2 = 0
    union all
    select q from (
      select distinct on (q) q from (
        select a.w || ' ' || b.w as q, g
        from generate_series(1, 6000) g
        join vocab a on a.n = 1 + (g * 7) % 2000
        join vocab b on b.n = 1 + (g * 389 + g / 2000) % 2000
        where a.n <> b.n
      ) x order by q, g
    ) y limit ${TOPICS}`);
  await db.execute(sql`
    insert into subscribers (email, status, timezone, send_hour, frequency, max_papers)
    select 'reader' || g || '@example.org', 'pending', 'UTC', 8, 'daily', 10 from generate_series(1, ${SUBSCRIBERS}) g`);
  await db.execute(sql`
    insert into subscriber_topics (subscriber_id, topic_id, label)
    select s.id, t.id, t.query
    from subscribers s
    cross join generate_series(0, 2) k
    join topics t on t.id = 1 + ((s.id * 7919 + k * 4729) % ${TOPICS})`);
  const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from topics`);
  if (rows[0]?.n !== TOPICS) throw new Error(`seeded ${rows[0]?.n} topics, expected ${TOPICS}`);
  await db.execute(sql`analyze`);
}

/** The previous day's papers and the votes on them (see the header). */
async function seedVotes(db: Db): Promise<number> {
  await db.execute(sql`select setseed(0.17)`);
  await db.execute(sql`
    insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes, first_seen_at, published_at, ai_keywords)
    select '2510.' || lpad(g::text, 5, '0'),
           array_to_string(array(select v.a[1 + floor(random() * 2000)::int] from generate_series(1, 8 + 0 * g)), ' '),
           array_to_string(array(select v.a[1 + floor(random() * 2000)::int] from generate_series(1, 60 + 0 * g)), ' '),
           '2026-11-26', 'https://arxiv.org/abs/2510.' || g, 'https://arxiv.org/pdf/2510.' || g,
           floor(random() * random() * 300)::int, '2026-11-26T06:00:00Z', '2026-11-25T12:00:00Z',
           array(select v.a[1 + floor(random() * 2000)::int] || ' ' || v.a[1 + floor(random() * 2000)::int] from generate_series(1, 3 + 0 * g))
    from generate_series(1, ${PAPERS}) g, (select array_agg(w order by n) as a from vocab) v`);
  const { rows } = await db.execute<{ n: number }>(sql`
    with ins as (
      insert into votes (subscriber_id, paper_id, vote, voted_at)
      select s.id, y.id, case when k < 7 then 1 else -1 end, ${NOW.toISOString()}::timestamptz - k * interval '1 day'
      from subscribers s
      cross join generate_series(0, ${VOTES_EACH - 1}) k
      join lateral (
        select p.id from papers p where p.listing_day = '2026-11-26'
        order by p.id offset ((s.id * 131 + k * 37) % ${PAPERS}) limit 1
      ) y on true
      where s.id % 10 < ${Math.round(VOTER_SHARE * 10)}
      on conflict do nothing
      returning 1
    )
    select count(*)::int as n from ins`);
  await db.execute(sql`analyze`);
  return rows[0]?.n ?? 0;
}

/** The naive matcher: lower-case word tokens with a crude suffix stemmer. */
function stem(word: string): string {
  return word.replace(/(ing|ed|es|s)$/, "");
}
function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map(stem);
}

interface NaiveVotes {
  bySubscriber: Map<number, { paperId: number; vote: number; ageDays: number }[]>;
  /** Title and keywords of voted papers and of candidates, by id. */
  papers: Map<number, string>;
  candidates: Map<number, string>;
}

interface NaivePaper {
  id: number;
  title: string;
  abstract: string;
  upvotes: number;
}

/**
 * Scans every paper for every subscriber in JavaScript: per subscriber, tokenizes each
 * paper, tests each of their topics (all terms present), scores title hits above
 * abstract hits, boosts by upvotes, sorts and keeps the top N.
 */
function naivePlan(papers: NaivePaper[], subscriberTopics: Map<number, string[]>, maxPapers: number, votes?: NaiveVotes): number {
  let total = 0;
  for (const [subscriberId, topics] of subscriberTopics) {
    const terms = topics.map((t) => tokens(t));
    const scored: { id: number; score: number; upvotes: number }[] = [];
    for (const p of papers) {
      const title = new Set(tokens(p.title));
      const all = new Set([...title, ...tokens(p.abstract)]);
      let best = 0;
      for (const t of terms) {
        if (t.length === 0 || !t.every((w) => all.has(w))) continue;
        const s = t.reduce((acc, w) => acc + (title.has(w) ? 1 : 0.2), 0);
        best = Math.max(best, s);
      }
      if (best > 0) scored.push({ id: p.id, score: best * (1 + 0.1 * Math.min(Math.log1p(p.upvotes), 5)), upvotes: p.upvotes });
    }
    const mine = votes?.bySubscriber.get(subscriberId);
    if (mine && votes) {
      // The feedback profile: term weights from the voted papers' titles and keywords, decaying.
      const profile = new Map<string, number>();
      for (const v of mine) {
        const w = v.vote * 0.5 ** (v.ageDays / 30);
        for (const t of new Set(tokens(votes.papers.get(v.paperId) ?? ""))) profile.set(t, (profile.get(t) ?? 0) + w);
      }
      for (const s of scored) {
        const terms = new Set(tokens(votes.candidates.get(s.id) ?? ""));
        let a = 0;
        for (const t of terms) a += profile.get(t) ?? 0;
        s.score *= 4 ** Math.tanh(a / Math.sqrt(Math.max(terms.size, 1)));
      }
    }
    scored.sort((a, b) => b.score - a.score || b.upvotes - a.upvotes);
    total += Math.min(scored.length, maxPapers);
  }
  return total;
}

/** A process's CPU time so far (user + system) in clock ticks, and its parent; null once it has exited. */
function procStat(pid: number): { ticks: number; ppid: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return { ticks: Number(fields[11]) + Number(fields[12]), ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

/**
 * The CPU seconds the Postgres processes serving database `db` spend while `work` runs
 * (the server runs on this machine; wall time moves with whatever else the machine is
 * doing, CPU time is the work itself). The postmaster's children are sampled every
 * 20 ms: backends connected to `db`, and the parallel workers of those backends, which
 * live only for one query. Each process counts from its first sample (or from zero when
 * it started during the run) to its last, so a backend the pool closes or opens mid-run
 * neither goes negative nor is lost; only the last <20 ms of a process that exits
 * between two samples go uncounted.
 */
async function postgresCpuDuring<T>(pool: pg.Pool, db: string, work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const { rows } = await pool.query<{ pid: number }>("select pg_backend_pid() as pid");
  const postmaster = procStat(rows[0]!.pid)?.ppid;
  if (postmaster === undefined) return { result: await work(), seconds: Number.NaN };
  const ours = new Map<number, boolean>();
  const isOurs = (pid: number): boolean => {
    let known = ours.get(pid);
    if (known === undefined) {
      let cmd = "";
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      } catch {
        // Exited already.
      }
      const leader = /parallel worker for PID (\d+)/.exec(cmd)?.[1];
      known = cmd.includes(` ${db} `) || (leader !== undefined && isOurs(Number(leader)));
      // A process just forked still shows the postmaster's command line until it has
      // read its startup packet and set its title: decide once it has one.
      if (known || cmd.startsWith("postgres: ")) ours.set(pid, known);
    }
    return known;
  };
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = (atStart: boolean) => {
    let children: string[];
    try {
      children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8").trim().split(/\s+/);
    } catch {
      return;
    }
    for (const c of children) {
      const pid = Number(c);
      if (!pid || !isOurs(pid)) continue;
      const st = procStat(pid);
      if (!st) continue;
      if (!first.has(pid)) first.set(pid, atStart ? st.ticks : 0);
      last.set(pid, st.ticks);
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), 20);
  try {
    const result = await work();
    sample(false);
    let ticks = 0;
    for (const [pid, t] of last) ticks += t - (first.get(pid) ?? 0);
    return { result, seconds: ticks / 100 };
  } finally {
    clearInterval(timer);
  }
}

export async function main(): Promise<void> {
  const name = `paperboy_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl("postgres") });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const pool = createPool(serverUrl(name), { max: 4 });
  const db = createDb(pool);
  try {
    const t0 = performance.now();
    await runMigrations(pool);
    await seed(db);
    const stats = await pool.query<{ avg_hits: string }>(
      `select round(avg(n), 1) as avg_hits from (select count(*) n from topics t left join papers p on p.search @@ websearch_to_tsquery('english', t.query) group by t.id) x`,
    );
    process.stdout.write(
      `seeded ${SUBSCRIBERS} subscribers × 3 topics (${TOPICS} distinct, ~${stats.rows[0]?.avg_hits} papers each) × ${PAPERS} papers in ${((performance.now() - t0) / 1000).toFixed(1)} s\n\n`,
    );

    const results: { n: number; seconds: number; perSubscriber: number }[] = [];
    const run = async (n: number, label = "") => {
      await db.execute(sql`truncate digests cascade`);
      await db.execute(sql`update subscribers set status = case when id <= ${n} then 'active'::subscriber_status else 'pending'::subscriber_status end`);
      await db.execute(sql`vacuum analyze subscribers`);
      const nodeCpuBefore = process.cpuUsage();
      const start = performance.now();
      const { result: summary, seconds: pgCpu } = await postgresCpuDuring(pool, name, () => planDigests(db, { now: NOW }));
      const seconds = (performance.now() - start) / 1000;
      const nodeCpu = process.cpuUsage(nodeCpuBefore);
      if (summary.created !== n) throw new Error(`expected ${n} digests, planned ${summary.created}`);
      process.stdout.write(
        `plan+match ${String(n).padStart(7)} subscribers${label}: ${seconds.toFixed(2)} s  ` +
          `(${(seconds / (n / 10_000)).toFixed(2)} s per 10k), ${(summary.papers / n).toFixed(2)} papers per subscriber, ` +
          `${summary.empty} empty; CPU: Postgres ${pgCpu.toFixed(2)} s, Node ${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(2)} s\n`,
      );
      return { n, seconds, perSubscriber: summary.papers / n };
    };
    for (const n of SIZES) results.push(await run(n));

    // Naive baseline, same process: load everything, then scan per subscriber.
    const loadStart = performance.now();
    const papers = (await pool.query<NaivePaper>(`select id, title, abstract, upvotes from papers where listing_day = '2026-11-27'`)).rows;
    const topicRows = (
      await pool.query<{ subscriber_id: number; query: string }>(
        `select st.subscriber_id, t.query from subscriber_topics st join topics t on t.id = st.topic_id order by st.subscriber_id`,
      )
    ).rows;
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const bySubscriber = new Map<number, string[]>();
    for (const r of topicRows) {
      if (bySubscriber.size >= NAIVE_SAMPLE && !bySubscriber.has(r.subscriber_id)) break;
      const list = bySubscriber.get(r.subscriber_id) ?? [];
      list.push(r.query);
      bySubscriber.set(r.subscriber_id, list);
    }
    const naiveStart = performance.now();
    const naivePapers = naivePlan(papers, bySubscriber, 10);
    const naiveSample = (performance.now() - naiveStart) / 1000;
    const naive100k = loadSeconds + (naiveSample * SUBSCRIBERS) / bySubscriber.size;
    const ours = results.at(-1)!;
    process.stdout.write(
      `\nnaive JS baseline: ${naiveSample.toFixed(2)} s for a sample of ${bySubscriber.size} subscribers ` +
        `(${(naivePapers / bySubscriber.size).toFixed(2)} papers each), + ${loadSeconds.toFixed(2)} s loading;\n` +
        `  extrapolated linearly to ${SUBSCRIBERS}: ${naive100k.toFixed(1)} s\n` +
        `speed-up at ${SUBSCRIBERS}: ${(naive100k / ours.seconds).toFixed(0)}× (goal ≥ 50×); ` +
        `time ${ours.seconds.toFixed(2)} s (goal ≤ 3 s); ` +
        `growth 10k→100k: ${(ours.seconds / results[0]!.seconds).toFixed(1)}× for 10× the subscribers\n`,
    );

    // Feedback: 30 % of the subscribers hold votes; plan 100k again.
    const voteStart = performance.now();
    const nVotes = await seedVotes(db);
    process.stdout.write(`\nseeded ${nVotes} votes (${VOTES_EACH} each for ${Math.round(VOTER_SHARE * 100)} % of ${SUBSCRIBERS} subscribers) in ${((performance.now() - voteStart) / 1000).toFixed(1)} s\n`);
    const voted = await run(SUBSCRIBERS, " with votes");
    const vLoadStart = performance.now();
    const terms = (sql: string) => pool.query<{ id: number; t: string }>(sql);
    const voteRows = (
      await pool.query<{ subscriber_id: number; paper_id: number; vote: number; age: number }>(
        `select subscriber_id, paper_id, vote, extract(epoch from ($1::timestamptz - voted_at)) / 86400 as age from votes where subscriber_id <= $2`,
        [NOW.toISOString(), Math.max(...bySubscriber.keys())],
      )
    ).rows;
    const naiveVotes: NaiveVotes = {
      bySubscriber: new Map(),
      papers: new Map((await terms(`select id, title || ' ' || array_to_string(ai_keywords, ' ') as t from papers where listing_day = '2026-11-26'`)).rows.map((r) => [Number(r.id), r.t])),
      candidates: new Map((await terms(`select id, title || ' ' || array_to_string(ai_keywords, ' ') as t from papers where listing_day = '2026-11-27'`)).rows.map((r) => [Number(r.id), r.t])),
    };
    for (const r of voteRows) {
      const list = naiveVotes.bySubscriber.get(Number(r.subscriber_id)) ?? [];
      list.push({ paperId: Number(r.paper_id), vote: r.vote, ageDays: Number(r.age) });
      naiveVotes.bySubscriber.set(Number(r.subscriber_id), list);
    }
    const vLoad = (performance.now() - vLoadStart) / 1000;
    const vNaiveStart = performance.now();
    naivePlan(papers, bySubscriber, 10, naiveVotes);
    const vNaiveSample = (performance.now() - vNaiveStart) / 1000;
    const vNaive100k = loadSeconds + vLoad + (vNaiveSample * SUBSCRIBERS) / bySubscriber.size;
    process.stdout.write(
      `naive JS baseline with votes: ${vNaiveSample.toFixed(2)} s for the sample (${naiveVotes.bySubscriber.size} of them voters); ` +
        `extrapolated to ${SUBSCRIBERS}: ${vNaive100k.toFixed(1)} s\n` +
        `with votes: speed-up ${(vNaive100k / voted.seconds).toFixed(0)}× (goal ≥ 50×); time ${voted.seconds.toFixed(2)} s (goal ≤ 3 s); ` +
        `${(voted.seconds / ours.seconds).toFixed(2)}× the run without votes\n`,
    );
  } finally {
    await pool.end();
    // BENCH_KEEP=1 keeps the seeded database for EXPLAIN ANALYZE sessions.
    if (process.env.BENCH_KEEP === "1") process.stdout.write(`kept database ${name}\n`);
    else await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
