import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import { createRedisWindowCounter } from "../../src/subscribers/counter.js";
import { confirmMailKey } from "../../src/subscribers/mail.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/**
 * Signup must not tell, by how long it takes, whether an address is new, pending,
 * subscribed, unsubscribed, suppressed or over its email cap. The kinds are
 * interleaved in a fresh random order each round, so load on the machine falls on
 * all of them alike; medians of 50 tries each must agree within 1.5×.
 */
const ROUNDS = 50;
const WARMUP = 5;

let rt: TestRuntime;
let app: App;

beforeAll(async () => {
  rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "1000000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000000", CONFIRM_EMAILS_PER_HOUR: "3" });
  app = await rt.app();
  const now = new Date();
  await rt.db.insert(subscribers).values([
    { email: "pending@example.org", status: "pending" },
    { email: "active@example.org", status: "active", confirmedAt: now },
    { email: "left@example.org", status: "unsubscribed", confirmedAt: now, unsubscribedAt: now },
    { email: "bounced@example.org", status: "bounced", confirmedAt: now },
    { email: "complained@example.org", status: "complained", confirmedAt: now },
    { email: "capped@example.org", status: "pending" },
  ]);
  // Over its hourly cap of confirmation emails, as after a burst of signups.
  const counter = createRedisWindowCounter(rt.redis, `${rt.prefix}:subscribers`);
  for (let i = 0; i < 10; i++) await counter.hit(confirmMailKey("capped@example.org"), 3_600_000);
});
afterAll(async () => {
  await rt?.close();
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe("signup timing", () => {
  it("answers new, pending, active, unsubscribed, bounced, complained and capped addresses in the same time (medians within 1.5×)", async () => {
    let fresh = 0;
    const kinds: Record<string, () => string> = {
      new: () => `new${++fresh}@example.org`,
      pending: () => "pending@example.org",
      active: () => "active@example.org",
      unsubscribed: () => "left@example.org",
      bounced: () => "bounced@example.org",
      complained: () => "complained@example.org",
      capped: () => "capped@example.org",
    };
    const names = Object.keys(kinds);
    const times: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
    const bodies = new Set<string>();
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const kind of shuffle(names)) {
        const payload = { email: kinds[kind]!(), topics: ["diffusion models", "test-time compute"], timezone: "Europe/Berlin" };
        const t0 = process.hrtime.bigint();
        const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: "192.0.2.77", payload });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        expect(res.statusCode).toBe(202);
        bodies.add(res.body);
        if (round >= WARMUP) times[kind]!.push(ms);
      }
    }
    expect(bodies.size).toBe(1);
    // Each try against the median of its own round (same moment, same machine load), then
    // the median of those per kind: a burst of load elsewhere shifts a whole round, not one kind.
    const roundMedians = Array.from({ length: ROUNDS }, (_, r) => median(names.map((k) => times[k]![r]!)));
    const relative = Object.fromEntries(names.map((k) => [k, median(times[k]!.map((t, r) => t / roundMedians[r]!))]));
    const medians = Object.fromEntries(names.map((k) => [k, Number(median(times[k]!).toFixed(2))]));
    const ratio = Math.max(...Object.values(relative)) / Math.min(...Object.values(relative));
    const report = `medians (ms) ${JSON.stringify(medians)}; relative to their round ${JSON.stringify(Object.fromEntries(names.map((k) => [k, Number(relative[k]!.toFixed(2))])))}`;
    console.log(`signup timing: ${report}; slowest/fastest ${ratio.toFixed(2)}×`);
    expect(ratio, report).toBeLessThanOrEqual(1.5);
    // Every kind did the same work: one mail job each (the worker decides what, if anything, to send).
    const counts = await rt.queues.mail.getJobCounts("waiting");
    expect(counts.waiting).toBe(Object.keys(kinds).length * (WARMUP + ROUNDS));
  }, 120_000);
});
