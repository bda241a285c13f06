import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { messageId, startSmtpSink } from "../helpers/smtp-sink.js";
import { spawnEntry, type Spawned } from "../helpers/spawn.js";

const DIGESTS = 24;
const GRACE_MS = 8000;

/** A relay that takes `delayMs` to answer each message. */
async function startSlowSink(delayMs: number) {
  const sink = await startSmtpSink({ parse: false });
  sink.respond(() => new Promise((resolve) => setTimeout(() => resolve(undefined), delayMs)));
  return { url: sink.url, accepted: () => sink.messages.map(messageId), close: () => sink.close() };
}

describe("SIGTERM while sending through a slow relay", () => {
  let rt: TestRuntime;
  let sink: Awaited<ReturnType<typeof startSlowSink>>;
  const workers: Spawned[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
    sink = await startSlowSink(300);
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await sink?.close();
    await rt?.close();
  });

  it("stops claiming, finishes and marks what is in flight, exits 0 within the grace period; the rest goes out once later", { timeout: 120_000 }, async () => {
    const ids: number[] = [];
    for (let i = 0; i < DIGESTS; i++) ids.push((await seedOne(rt.pool, { email: `slow${i}@example.org`, papers: 1 })).digestId);
    const env = {
      ...runtimeEnv(rt, { SMTP_URL: sink.url }),
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      MAIL_DOMAIN: "paperboy.test",
      SCHEDULER_ENABLED: "false",
      SEND_RATE_PER_SECOND: "100000",
      SEND_BATCH_SIZE: "10",
      SEND_CONCURRENCY: "2",
      SMTP_POOL_SIZE: "2",
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    const first = spawnEntry("src/main/worker.ts", [], env);
    workers.push(first);
    await first.waitForOutput(/worker started/, 60_000);
    await enqueueSendBatches(rt.queues, ids, 10);
    while (sink.accepted().length < 4) await new Promise((r) => setTimeout(r, 50));

    const atSignal = sink.accepted().length;
    const signalled = Date.now();
    first.child.kill("SIGTERM");
    const code = await first.exited;
    const tookMs = Date.now() - signalled;
    expect(code, first.output()).toBe(0);
    expect(tookMs).toBeLessThan(GRACE_MS);
    // Two jobs of one lane each: at most one message each was in flight; nothing new was claimed.
    const afterSignal = sink.accepted().length - atSignal;
    expect(afterSignal).toBeLessThanOrEqual(2);
    expect(afterSignal + atSignal).toBeLessThan(DIGESTS);
    // Whatever the relay accepted is marked sent; nothing is left in `sending` for a lease to expire.
    const rows = await rt.pool.query<{ status: string; n: number }>("select status, count(*)::int as n from digests group by status order by status");
    expect(rows.rows).toEqual([
      { status: "queued", n: DIGESTS - sink.accepted().length },
      { status: "sent", n: sink.accepted().length },
    ]);
    const sentIds = await rt.pool.query<{ message_id: string }>("select message_id from digests where status = 'sent'");
    expect(sentIds.rows.map((r) => r.message_id).sort()).toEqual(sink.accepted().sort());

    // The unfinished batches went back to the queue: the next worker sends the rest, each once.
    const second = spawnEntry("src/main/worker.ts", [], { ...env, SHUTDOWN_GRACE_MS: "2000" });
    workers.push(second);
    const deadline = Date.now() + 90_000;
    while (sink.accepted().length < DIGESTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.accepted().sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
