import { loadConfig, loadEnvFile } from "../config.js";
import { buildApp } from "../http/app.js";
import { createLogger } from "../logger.js";
import { startBackground } from "./background.js";
import { openRuntime } from "./runtime.js";
import { buildServices } from "./services.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/**
 * `npm start`: API, workers and schedulers in one process, with embedded Postgres,
 * a private Redis when none answers, and the local outbox when SMTP_URL is unset.
 */
async function main() {
  loadEnvFile();
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "local" });
  const services = await buildServices(rt);
  const app = await buildApp({ ...rt, ...services });
  const workers = await startBackground({ ...rt, ...services });
  if (config.SCHEDULER_ENABLED) {
    // A fresh local install should not wait for the next scheduled ingest to have papers.
    const boot = await rt.jobs.bootIngest(config.PAPERS_SOURCES);
    const sources = config.PAPERS_SOURCES.join(", ");
    if (boot.added) logger.info({ jobId: boot.jobId }, `ingesting from ${sources} now`);
    else logger.info({ jobId: boot.jobId }, `papers from ${sources} were already ingested at a start this hour; the next scheduled ingest brings new ones`);
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
