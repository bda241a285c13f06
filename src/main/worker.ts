import { loadConfig } from "../config.js";
import { createJobHandlers } from "../jobs/handlers.js";
import { registerSchedulers } from "../jobs/scheduler.js";
import { sendLimiter, startWorkers } from "../jobs/workers.js";
import { createLogger } from "../logger.js";
import { openRuntime } from "./runtime.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/** The worker process: BullMQ workers and the job schedulers. Run as many as you like. */
async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "worker" });
  const workers = startWorkers(createJobHandlers(rt), {
    connection: rt.bullConnection,
    prefix: config.QUEUE_PREFIX,
    logger,
    sendConcurrency: config.SEND_CONCURRENCY,
    metrics: rt.metrics.jobs,
    sendLimiter: sendLimiter(config.SEND_RATE_PER_SECOND, config.SEND_BATCH_SIZE),
  });
  if (config.SCHEDULER_ENABLED) {
    await registerSchedulers(rt.queues, { ingestCron: config.INGEST_CRON, ingestTz: config.INGEST_TZ, planCron: config.PLAN_CRON });
  }
  logger.info({ queues: workers.workers.map((w) => w.name) }, "worker started");
  onShutdown(logger, config.SHUTDOWN_GRACE_MS, async () => {
    await workers.close();
    await rt.close();
  });
}

main().catch(exitOnStartupError);
