/**
 * A worker process for the crash test: the same wiring as src/main/worker.ts (config
 * from env, openRuntime, the real job handlers), with a short BullMQ lock so a killed
 * worker's job is taken over within seconds instead of the default 30 s.
 */
import { loadConfig } from "../../src/config.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { sendLimiter, startWorkers } from "../../src/jobs/workers.js";
import { createLogger } from "../../src/logger.js";
import { openRuntime } from "../../src/main/runtime.js";
import { buildServices } from "../../src/main/services.js";

const config = loadConfig();
const logger = createLogger(config);
const rt = await openRuntime(config, { logger, role: "worker" });
const workers = startWorkers(createJobHandlers({ ...rt, ...(await buildServices(rt)) }), {
  connection: rt.bullConnection,
  prefix: config.QUEUE_PREFIX,
  logger,
  sendConcurrency: config.SEND_CONCURRENCY,
  sendLimiter: sendLimiter(config.SEND_RATE_PER_SECOND, config.SEND_BATCH_SIZE),
  onError: (err) => rt.redisOutage.error(err),
  sendLockMs: Number(process.env.CRASH_TEST_LOCK_MS ?? 2000),
  // BullMQ's own default (1) when a test wants a job to fail for good after two worker deaths.
  stallLimits: process.env.CRASH_TEST_SEND_STALL_LIMIT ? { send: Number(process.env.CRASH_TEST_SEND_STALL_LIMIT) } : undefined,
});
await Promise.all(workers.workers.map((w) => w.waitUntilReady()));
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void workers.close().then(() => rt.close()).then(() => process.exit(0));
});
