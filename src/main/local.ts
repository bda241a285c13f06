import { loadConfig } from "../config.js";
import { buildApp } from "../http/app.js";
import { createJobHandlers } from "../jobs/handlers.js";
import { registerSchedulers } from "../jobs/scheduler.js";
import { sendLimiter, startWorkers } from "../jobs/workers.js";
import { createLogger } from "../logger.js";
import { openRuntime } from "./runtime.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/**
 * `npm start`: API, workers and schedulers in one process, with embedded Postgres,
 * a private Redis when none answers, and the local outbox when SMTP_URL is unset.
 */
async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "local" });
  const app = await buildApp(rt);
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
  onShutdown(logger, config.SHUTDOWN_GRACE_MS, async () => {
    await app.close();
    await workers.close();
    await rt.close();
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  const base = config.PUBLIC_URL.replace(/\/$/, "");
  logger.info(`paperboy is running: ${base}/  (outbox: ${rt.outbox ? `${base}/outbox` : "off, SMTP_URL is set"}, API docs: ${base}/docs)`);
}

main().catch(exitOnStartupError);
