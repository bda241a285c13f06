import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { openRuntime } from "../src/main/runtime.js";
import { recordSignup } from "../src/subscribers/pending-signups.js";
import { normalizeTopic } from "../src/subscribers/topics.js";
const admin = "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `paperboy_bench_${randomBytes(4).toString("hex")}`;
const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(`create database "${dbName}"`);
const config = loadConfig({ NODE_ENV: "production", LOG_LEVEL: "warn", DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`, QUEUE_PREFIX: "pbmicro" + randomBytes(3).toString("hex"), SMTP_URL: "smtp://127.0.0.1:9", TOKEN_SECRET: "x".repeat(40) });
const rt = await openRuntime(config, { logger: createLogger(config), role: "server" });
let n = 0;
const input = () => ({ email: `m${++n}@x.org`, topics: ["diffusion models", "test-time compute"], timezone: "Europe/Berlin", sendHour: 7, frequency: "daily" as const, weekday: 1, maxPapers: 10, sendWhenEmpty: false });
function cpuOf(pid: number) { const f = (require("node:fs") as typeof import("node:fs")).readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * 10000; }
async function pgCpu() { const { rows } = await c.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [dbName]); let t = 0; for (const r of rows) { try { t += cpuOf(r.pid); } catch { /**/ } } return t; }
import { createRequire } from "node:module"; const require = createRequire(import.meta.url);
async function measure(name: string, N: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await fn();
  const p0 = await pgCpu(); const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await fn();
  const cu = process.cpuUsage(c0); const p1 = await pgCpu();
  console.log(name.padEnd(28), "node µs/op", ((cu.user + cu.system) / N).toFixed(0), " pg µs/op", ((p1 - p0) / N).toFixed(0));
}
const TEXT = `
    with bad as (
      select min(i)::int as i from unnest($1::text[]) with ordinality as t(q, i)
      where websearch_to_tsquery('english', q)::text = ''
    ), s as (
      insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty,
                               consent_at, consent_ip, consent_user_agent, signup_version, created_at, updated_at)
      select $2::text, 'pending', $3::text, $4::smallint, $5::frequency, $6::smallint, $7::smallint, $8::boolean, $9::timestamptz, $10::text, $11::text, 1, $9, $9
      where (select i from bad) is null
      on conflict ((lower(email))) do update set
        signup_version = subscribers.signup_version + 1,
        status = case when subscribers.status = 'unsubscribed' then 'pending'::subscriber_status else subscribers.status end,
        updated_at = excluded.updated_at
      returning id, status, signup_version
    ), p as (
      insert into pending_signups (subscriber_id, version, topics, timezone, send_hour, frequency, weekday, max_papers,
                                   send_when_empty, consent_at, consent_ip, consent_user_agent, created_at)
      select s.id, s.signup_version, $12::text[], $3, $4, $5, $6, $7, $8, $9, $10, $11, $9
      from s where s.status = 'pending'
    )
    select (select i from bad) as bad, s.id::text as id, s.status, s.signup_version as version from (select 1) as one left join s on true`;
const vals = (x: ReturnType<typeof input>) => [x.topics.map(normalizeTopic), x.email, x.timezone, x.sendHour, x.frequency, x.weekday, x.maxPapers, x.sendWhenEmpty, new Date().toISOString(), "1.2.3.4", "x", x.topics];
const N = 2000;
await measure("recordSignup (drizzle)", N, () => recordSignup(rt.db, input(), { at: new Date(), ip: "1.2.3.4", userAgent: "x" }));
await measure("pool unnamed", N, () => rt.pool.query(TEXT, vals(input())));
await measure("pool named", N, () => rt.pool.query({ name: "record-signup", text: TEXT, values: vals(input()) }));
await measure("plain insert (pool)", N, () => rt.pool.query("insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, consent_at, consent_ip, consent_user_agent) values ($1, 'pending', 'UTC', 7, 'daily', 1, 10, false, now(), '1.2.3.4', 'x')", [`p${++n}@x.org`]));
await rt.close(); await c.query(`drop database "${dbName}" with (force)`); await c.end();
