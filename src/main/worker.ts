import { loadConfig, loadEnvFile } from "../config.js";
import { createLogger } from "../logger.js";
import { startBackground } from "./background.js";
import { startMetricsServer } from "./metrics-server.js";
import { openRuntime } from "./runtime.js";
import { buildServices } from "./services.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/** The worker process: BullMQ workers and the job schedulers. Run as many as you like. */
async function main() {
  loadEnvFile();
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "worker" });
  const workers = await startBackground({ ...rt, ...(await buildServices(rt)) });
  const metricsServer = config.WORKER_METRICS_PORT ? await startMetricsServer(rt.metrics, config.HOST, config.WORKER_METRICS_PORT) : undefined;
  logger.info({ queues: workers.workers.map((w) => w.name) }, "worker started");
  onShutdown(logger, config.SHUTDOWN_GRACE_MS, async () => {
    await metricsServer?.close();
    await workers.close();
    await rt.close();
  });
}

main().catch(exitOnStartupError);
