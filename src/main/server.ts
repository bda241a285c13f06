import { loadConfig, loadEnvFile } from "../config.js";
import { buildApp } from "../http/app.js";
import { createLogger } from "../logger.js";
import { openRuntime } from "./runtime.js";
import { buildServices } from "./services.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";

/** The API process: HTTP only. Scale it out behind a load balancer. */
async function main() {
  loadEnvFile();
  const config = loadConfig();
  const logger = createLogger(config);
  const rt = await openRuntime(config, { logger, role: "server" });
  const services = await buildServices(rt);
  const app = await buildApp({ ...rt, ...services });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(logger, config.SHUTDOWN_GRACE_MS, async () => {
    await app.close();
    await rt.close();
  });
}

main().catch(exitOnStartupError);
