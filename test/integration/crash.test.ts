import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { digestRow, seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { messageId, startSmtpSink } from "../helpers/smtp-sink.js";
import { exited, spawnSendWorker } from "../helpers/spawn.js";

const DIGESTS = 30;
/** The worker is killed while the sink holds this message (received, not yet answered). */
const KILL_AT = 8;
/** SEND_GROUP_SIZE: claims and marks go in groups of this many; with one lane, at most this many copies. */
const GROUP = 4;
const LANES = 1;

/**
 * A sink that, from message KILL_AT on, holds each message unanswered (never a 250: as far
 * as SMTP goes, not accepted) until `onHold` is done (the test kills the sender there),
 * then answers 421; until `release`.
 */
async function startHoldingSink(onHold: () => Promise<void>) {
  const sink = await startSmtpSink({ parse: false });
  let holding = false;
  sink.respond(async ({ count }) => {
    if (!holding && count !== KILL_AT) return undefined;
    holding = true;
    await onHold();
    return { code: 421, message: "sender gone" };
  });
  return {
    sink,
    accepted: () => sink.messages.map(messageId),
    release: () => {
      holding = false;
    },
  };
}

describe("crash: a worker killed mid-batch", () => {
  let rt: TestRuntime;
  let sink: Awaited<ReturnType<typeof startHoldingSink>>;
  const children: ChildProcess[] = [];
  let first: ChildProcess | undefined;
  let sentAtKill = -1;

  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
    sink = await startHoldingSink(async () => {
      if (!first) return;
      sentAtKill = sink.accepted().length;
      first.kill("SIGKILL");
      await exited(first);
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await sink?.sink.close();
    await rt?.close();
  });

  it("loses nothing, and copies only what was accepted since the last recorded group (at most K × lanes, same Message-ID)", async () => {
    const seeded = [];
    for (let i = 0; i < DIGESTS; i++) seeded.push(await seedOne(rt.pool, { email: `crash${i}@example.org`, papers: 2 }));
    const ids = seeded.map((s) => s.digestId);
    await enqueueSendBatches(rt.queues, ids, 15);

    const env = {
      ...process.env,
      NODE_ENV: "test",
      ...runtimeEnv(rt, { SMTP_URL: sink.sink.url }),
      MAIL_DOMAIN: "paperboy.test",
      SCHEDULER_ENABLED: "false",
      // One lane: at most one digest in flight, the one the sink holds when the worker dies.
      SMTP_POOL_SIZE: String(LANES),
      SEND_CONCURRENCY: "1",
      // Groups by count only (the interval never runs out), so the bound is met at its worst.
      SEND_GROUP_SIZE: String(GROUP),
      SEND_GROUP_INTERVAL_MS: "10000",
      SEND_BATCH_SIZE: "15",
      SEND_RATE_PER_SECOND: "100000",
      SEND_LEASE_MS: "3000",
      CRASH_TEST_LOCK_MS: "2000",
    };
    const one = spawnSendWorker(env);
    children.push(one.child);
    first = one.child;
    await one.ready;
    await exited(first);
    expect(first.signalCode).toBe("SIGKILL");
    expect(sentAtKill).toBe(KILL_AT - 1);
    // In `sending`: the held message, those accepted since the last recorded group, and the
    // group the lane had claimed ahead (not tried: sent once, after the lease).
    const held = await rt.pool.query<{ id: number }>("select id from digests where status = 'sending' order by id");
    const inFlight = ids[KILL_AT - 1]!;
    const accepted = new Set(sink.accepted());
    const unrecorded = held.rows.map((r) => r.id).filter((id) => id !== inFlight && accepted.has(`<digest-${id}@paperboy.test>`));
    const claimedAhead = held.rows.map((r) => r.id).filter((id) => id !== inFlight && !accepted.has(`<digest-${id}@paperboy.test>`));
    expect(held.rows.map((r) => r.id)).toContain(inFlight);
    expect(unrecorded.length).toBeLessThanOrEqual(GROUP * LANES);
    expect(claimedAhead.length).toBeLessThanOrEqual(GROUP * LANES);
    const recorded = await rt.pool.query<{ n: number }>("select count(*)::int as n from digests where status = 'sent'");
    expect(recorded.rows[0]!.n + unrecorded.length).toBe(KILL_AT - 1);

    sink.release();
    const two = spawnSendWorker(env);
    children.push(two.child);
    const second = two.child;
    await two.ready;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await rt.pool.query<{ n: number }>("select count(*)::int as n from digests where status = 'sent'");
      if (rows[0]!.n === DIGESTS || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    second.kill("SIGTERM");
    await exited(second);

    const counts = new Map<string, number>();
    for (const id of sink.accepted()) counts.set(id, (counts.get(id) ?? 0) + 1);
    // None lost, none under another Message-ID.
    expect([...counts.keys()].sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
    // The only copies: the accepted digests the killed worker had not recorded, one each, same Message-ID.
    const copies = [...counts].filter(([, n]) => n > 1);
    expect(copies.every(([, n]) => n === 2)).toBe(true);
    expect(copies.map(([mid]) => mid).sort()).toEqual(unrecorded.map((id) => `<digest-${id}@paperboy.test>`).sort());
    expect(copies.length).toBeLessThanOrEqual(GROUP * LANES);
    const statuses = await rt.pool.query<{ status: string; n: number }>("select status, count(*)::int as n from digests group by status");
    expect(statuses.rows).toEqual([{ status: "sent", n: DIGESTS }]);
    // The digest that was in flight was taken over after its lease, with the same Message-ID.
    expect(await digestRow(rt.pool, inFlight)).toMatchObject({ status: "sent", attempts: 2, message_id: `<digest-${inFlight}@paperboy.test>` });
  }, 180_000);
});
