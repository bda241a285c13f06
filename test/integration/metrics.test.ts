import { UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers, type Workers } from "../../src/jobs/workers.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

describe("/metrics and the workers", () => {
  let rt: TestRuntime;
  let workers: Workers | undefined;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await workers?.close();
    await rt?.close();
  });

  it("counts completed and failed jobs by queue, and email outcomes the sender reports", async () => {
    const settled: string[] = [];
    workers = startWorkers(
      {
        plan: async () => "planned",
        ingest: async () => {
          throw new UnrecoverableError("source answered 404");
        },
      },
      { connection: rt.bullConnection, prefix: rt.prefix, logger: rt.logger, sendConcurrency: 1, metrics: rt.metrics.jobs },
    );
    const done = new Promise<void>((resolve) => {
      for (const w of workers?.workers ?? []) {
        w.on("completed", () => settled.push("completed") === 3 && resolve());
        w.on("failed", () => settled.push("failed") === 3 && resolve());
      }
    });
    await rt.queues.plan.add("plan", {});
    await rt.queues.plan.add("plan", {});
    await rt.queues.ingest.add("ingest", { day: "2026-11-27" }, { attempts: 1 });
    await done;

    // What the send pipeline calls for one digest sent 90 s after it was planned.
    rt.metrics.send.sent(90);
    rt.metrics.send.bounced();

    const app = await rt.app();
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.body).toMatch(/^paperboy_jobs_completed_total\{queue="plan"\} 2$/m);
    expect(res.body).toMatch(/^paperboy_jobs_failed_total\{queue="ingest"\} 1$/m);
    expect(res.body).toMatch(/^paperboy_emails_total\{outcome="sent"\} 1$/m);
    expect(res.body).toMatch(/^paperboy_emails_total\{outcome="bounced"\} 1$/m);
    expect(res.body).toMatch(/^paperboy_digest_send_lag_seconds_sum 90$/m);
  });
});
