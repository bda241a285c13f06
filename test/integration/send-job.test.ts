import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { buildDigestSender } from "../../src/digests/sender.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { sweepStaleDigests } from "../../src/jobs/sweep.js";
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
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test", SEND_RATE_PER_SECOND: "1000", SEND_RETRY_DELAY_MS: "200" });
    workers = startWorkers(createJobHandlers({ ...rt, sender: buildDigestSender(rt, rt.renderer) }), {
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

  it("a 421 then success is sent once, after a pause, without spending an attempt", async () => {
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
    // The busy reply spent no attempt of the digest it met.
    expect(rows.map((r) => r.attempts)).toEqual([1, 1, 1]);
    const idsAtSink = rt.sink.messages.map((m) => m.parsed.messageId);
    expect(idsAtSink.sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
  });

  it("sends a digest whose send job failed for good at the next hourly sweep, and leaves fresh ones to their jobs", async () => {
    const stranded = await seedOne(rt.pool);
    const fresh = await seedOne(rt.pool);
    // The stranded digest's job is gone (failed for good); nothing has touched it for two hours.
    await rt.pool.query(`update digests set updated_at = now() - interval '2 hours' where id = $1`, [stranded.digestId]);
    const swept = await sweepStaleDigests(rt.pool, rt.jobs, { staleMs: 3_600_000, leaseMs: 120_000, maxAttempts: 5, batchSize: 10, now: new Date() });
    expect(swept).toBe(1);
    const row = await until(() => digestRow(rt.pool, stranded.digestId), (r) => r.status === "sent");
    expect(row.status).toBe("sent");
    expect((await digestRow(rt.pool, fresh.digestId)).status).toBe("queued");
    const jobs = await rt.queues.send.getJobs(["waiting", "active", "delayed", "completed", "failed"]);
    expect(jobs.some((j) => j.data.digestIds.includes(fresh.digestId))).toBe(false);
    // A second sweep in the same hour finds nothing left to do.
    expect(await sweepStaleDigests(rt.pool, rt.jobs, { staleMs: 3_600_000, leaseMs: 120_000, maxAttempts: 5, batchSize: 10, now: new Date() })).toBe(0);
  });

  it("converts the email rate into a job rate for BullMQ's limiter", () => {
    expect(sendLimiter(1000, 250)).toEqual({ max: 4, duration: 1000 });
    expect(sendLimiter(100, 250)).toEqual({ max: 1, duration: 2500 });
    expect(sendLimiter(250, 250)).toEqual({ max: 1, duration: 1000 });
  });
});
