import { loadConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { startBackground } from "./background.js";
import { openRuntime } from "./runtime.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/** The worker process: BullMQ workers and the job schedulers. Run as many as you like. */
async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "worker" });
  const workers = await startBackground(rt);
  logger.info({ queues: workers.workers.map((w) => w.name) }, "worker started");
  onShutdown(logger, config.SHUTDOWN_GRACE_MS, async () => {
    await workers.close();
    await rt.close();
  });
}

main().catch(exitOnStartupError);
