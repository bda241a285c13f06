import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { messageId, startSmtpSink } from "../helpers/smtp-sink.js";
import { exited, spawnSendWorker } from "../helpers/spawn.js";

const DIGESTS = 20;

/**
 * A sink that, at the given message counts, holds the message unanswered and calls
 * `onHold` (the test kills the sending worker there); held messages are never
 * accepted, so each digest arrives exactly once and copies would show.
 */
async function startKillingSink(killAt: number[], onHold: () => Promise<void>) {
  const sink = await startSmtpSink({ parse: false });
  let received = 0;
  sink.respond(async () => {
    if (!killAt.includes(++received)) return undefined;
    await onHold();
    return { code: 421, message: "sender gone" };
  });
  return {
    sink,
    accepted: () => sink.messages.map(messageId),
    reset() {
      sink.messages.length = 0;
      received = 0;
    },
  };
}

const spawnWorker = (env: NodeJS.ProcessEnv, children: ChildProcess[]): ChildProcess => {
  const { child } = spawnSendWorker(env);
  children.push(child);
  return child;
};

describe("crash: two workers killed in quick succession while holding the same send job", () => {
  let rt: TestRuntime;
  let sink: Awaited<ReturnType<typeof startKillingSink>>;
  const children: ChildProcess[] = [];
  /** The worker currently sending; the sink kills it when it holds a message. */
  let current: ChildProcess | undefined;

  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
    sink = await startKillingSink([4, 9], async () => {
      const victim = current;
      if (!victim) return;
      victim.kill("SIGKILL");
      await exited(victim);
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await sink?.sink.close();
    await rt?.close();
  });

  async function run(stallLimit: string | undefined) {
    sink.reset();
    await rt.pool.query("delete from digests");
    const ids: number[] = [];
    for (let i = 0; i < DIGESTS; i++) ids.push((await seedOne(rt.pool, { email: `twice-${stallLimit ?? "d"}-${i}@example.org`, papers: 1 })).digestId);
    // One batch, so both deaths happen inside the same send job.
    await enqueueSendBatches(rt.queues, ids, DIGESTS, `twice-${stallLimit ?? "default"}`);
    const env = {
      ...process.env,
      NODE_ENV: "test",
      ...runtimeEnv(rt, { SMTP_URL: sink.sink.url }),
      MAIL_DOMAIN: "paperboy.test",
      SCHEDULER_ENABLED: "false",
      SMTP_POOL_SIZE: "1",
      SEND_CONCURRENCY: "1",
      SEND_BATCH_SIZE: String(DIGESTS),
      SEND_RATE_PER_SECOND: "100000",
      SEND_LEASE_MS: "3000",
      // Each acceptance recorded before the next email goes out (K × lanes = 1): a kill while
      // the sink holds a message leaves no accepted digest unrecorded, so any copy is a fault.
      SEND_GROUP_SIZE: "1",
      CRASH_TEST_LOCK_MS: "1000",
      ...(stallLimit ? { CRASH_TEST_SEND_STALL_LIMIT: stallLimit } : {}),
    };
    // Each worker is replaced the moment it dies: the second takes the stalled job over and dies holding it too.
    current = spawnWorker(env, children);
    for (let death = 1; death <= 2; death++) {
      await exited(current);
      expect(current.signalCode).toBe("SIGKILL");
      current = spawnWorker(env, children);
    }
    const lastRestart = Date.now();
    for (;;) {
      const { rows } = await rt.pool.query<{ n: number }>("select count(*)::int as n from digests where status = 'sent'");
      if (rows[0]!.n === DIGESTS) break;
      // "Soon after the last restart": a couple of lease times, not the hourly sweep.
      if (Date.now() - lastRestart > 60_000) throw new Error(`only ${rows[0]!.n} of ${DIGESTS} sent a minute after the last restart`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const counts = new Map<string, number>();
    for (const id of sink.accepted()) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect([...counts.keys()].sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
    const statuses = await rt.pool.query<{ status: string; n: number }>("select status, count(*)::int as n from digests group by status");
    expect(statuses.rows).toEqual([{ status: "sent", n: DIGESTS }]);
    current.kill("SIGTERM");
    await exited(current);
    return rt.queues.send.getJobs(["failed", "completed"]);
  }

  it("with the send workers' stall limit the job survives both deaths and every digest is sent once", { timeout: 120_000 }, async () => {
    const jobs = await run(undefined);
    const ours = jobs.filter((j) => String(j.id).startsWith("twice-default"));
    expect(ours.map((j) => j.finishedOn !== undefined && j.failedReason === undefined)).toEqual([true]);
  });

  it("with BullMQ's default limit of one stall the job fails, and its digests are handed back at once", { timeout: 120_000 }, async () => {
    const jobs = await run("1");
    const ours = jobs.filter((j) => String(j.id).startsWith("twice-1"));
    const failed = ours.find((j) => j.failedReason !== undefined);
    expect(failed?.failedReason).toMatch(/stalled more than allowable limit/);
    expect(ours.some((j) => /-handback1$/.test(String(j.id)) && j.failedReason === undefined)).toBe(true);
  });
});
