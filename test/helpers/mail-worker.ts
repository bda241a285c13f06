import { createJobHandlers } from "../../src/jobs/handlers.js";
import { startWorkers, type Workers } from "../../src/jobs/workers.js";
import type { TestRuntime } from "./runtime.js";

/**
 * The worker that sends subscriber emails (confirmation, already subscribed), wired as
 * src/main/background.ts does, for tests whose requests enqueue them. Close it before rt.
 */
export async function startMailWorker(rt: TestRuntime): Promise<Workers> {
  const { mail } = createJobHandlers(rt);
  const workers = startWorkers({ mail }, { connection: rt.bullConnection, prefix: rt.prefix, logger: rt.logger, sendConcurrency: 1 });
  await Promise.all(workers.workers.map((w) => w.waitUntilReady()));
  return workers;
}
