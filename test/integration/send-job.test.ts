import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/enqueue.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { sendLimiter, startWorkers, type Workers } from "../../src/jobs/workers.js";
import { digestRow, seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("send job on BullMQ", () => {
  let rt: TestRuntime;
  let workers: Workers;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test", SEND_RATE_PER_SECOND: "1000" });
    workers = startWorkers(createJobHandlers(rt), {
      connection: rt.bullConnection,
      prefix: rt.prefix,
      logger: rt.logger,
      sendConcurrency: 2,
      sendLimiter: sendLimiter(1000, 10),
    });
  });
  afterAll(async () => {
    await workers?.close();
    await rt?.close();
  });

  it("a 421 then success is sent once, after the job's backoff", async () => {
    const seeded = [await seedOne(rt.pool), await seedOne(rt.pool), await seedOne(rt.pool)];
    const ids = seeded.map((s) => s.digestId);
    let refused = 0;
    rt.sink.respond(({ count }) => (count === 2 ? (refused++, { code: 421, message: "4.7.0 too busy, try later" }) : undefined));
    expect(await enqueueSendBatches(rt.queues, ids, 10)).toBe(1);
    // The same batch enqueued again (a retried plan) is a no-op.
    await enqueueSendBatches(rt.queues, ids, 10);
    const rows = await until(
      () => Promise.all(ids.map((id) => digestRow(rt.pool, id))),
      (r) => r.every((d) => d.status === "sent"),
    );
    expect(refused).toBe(1);
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
    expect(rows.map((r) => r.attempts).sort()).toEqual([1, 1, 2]);
    const idsAtSink = rt.sink.messages.map((m) => m.parsed.messageId);
    expect(idsAtSink.sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
  });

  it("converts the email rate into a job rate for BullMQ's limiter", () => {
    expect(sendLimiter(1000, 250)).toEqual({ max: 4, duration: 1000 });
    expect(sendLimiter(100, 250)).toEqual({ max: 1, duration: 2500 });
    expect(sendLimiter(250, 250)).toEqual({ max: 1, duration: 1000 });
  });
});
