import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { openRuntime } from "../src/main/runtime.js";
import { recordSignup } from "../src/subscribers/pending-signups.js";
import { assertTopicsSearchable } from "../src/subscribers/topics.js";
import { createRedisWindowCounter } from "../src/subscribers/counter.js";
const admin = "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `paperboy_bench_${randomBytes(4).toString("hex")}`;
const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(`create database "${dbName}"`);
const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "warn", DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`, QUEUE_PREFIX: "pbphase", SMTP_URL: "smtp://127.0.0.1:9", TOKEN_SECRET: "x".repeat(40) });
const rt = await openRuntime(config, { logger: createLogger(config), role: "server" });
const counter = createRedisWindowCounter(rt.redis, "pbphase:c");
const t: Record<string, number[]> = { validate: [], record: [], enqueue: [], counter: [], plain: [] };
let n = 0;
async function loop() {
  for (let i = 0; i < 60; i++) {
    const email = `p${++n}@x.org`;
    const input = { email, topics: ["diffusion models", "test-time compute"], timezone: "Europe/Berlin", sendHour: 7, frequency: "daily" as const, weekday: 1, maxPapers: 10, sendWhenEmpty: false };
    let a = performance.now();
    await counter.hit("k" + n, 60000); t.counter!.push(performance.now() - a); a = performance.now();
    await assertTopicsSearchable(rt.db, input.topics); t.validate!.push(performance.now() - a); a = performance.now();
    const r = await recordSignup(rt.db, input, { at: new Date(), ip: "1.2.3.4", userAgent: "x" }); t.record!.push(performance.now() - a); a = performance.now();
    await rt.jobs.enqueueSubscriberMail([{ kind: "confirm", subscriberId: r.subscriberId, version: r.version }]); t.enqueue!.push(performance.now() - a); a = performance.now();
    await rt.pool.query("insert into subscribers (email, status) values ($1, 'pending')", ["q" + email]); t.plain!.push(performance.now() - a);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: 32 }, loop));
console.log("total", (performance.now() - t0).toFixed(0), "ms for", n);
for (const [k, xs] of Object.entries(t)) { xs.sort((x, y) => x - y); console.log(k, "p50", xs[xs.length >> 1]!.toFixed(1), "p99", xs[Math.floor(xs.length * 0.99)]!.toFixed(1)); }
await rt.close(); await c.query(`drop database "${dbName}" with (force)`); await c.end();
