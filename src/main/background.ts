import { createJobHandlers } from "../jobs/handlers.js";
import { registerSchedulers } from "../jobs/scheduler.js";
import { sendLimiter, startWorkers, type Workers } from "../jobs/workers.js";
import type { Runtime } from "./runtime.js";
import type { Services } from "./services.js";

/** The BullMQ workers and job schedulers, as the worker process and `npm start` run them. */
export async function startBackground(rt: Runtime & Services): Promise<Workers> {
  const { config, logger } = rt;
  const workers = startWorkers(createJobHandlers(rt), {
    connection: rt.bullConnection,
    prefix: config.QUEUE_PREFIX,
    logger,
    sendConcurrency: config.SEND_CONCURRENCY,
    metrics: rt.metrics.jobs,
    sendLimiter: sendLimiter(config.SEND_RATE_PER_SECOND, config.SEND_BATCH_SIZE),
    onError: (err) => rt.redisOutage.error(err),
  });
  if (config.SCHEDULER_ENABLED) {
    await registerSchedulers(rt.queues, { ingestCron: config.INGEST_CRON, ingestTz: config.INGEST_TZ, planCron: config.PLAN_CRON });
  }
  return workers;
}
