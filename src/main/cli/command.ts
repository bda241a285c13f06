import { loadConfig, type RuntimeConfig } from "../../config.js";
import { createLogger, type Logger } from "../../logger.js";
import { openRuntime, type Runtime } from "../runtime.js";

/**
 * Opens the runtime for one CLI command, runs it, and closes everything afterwards
 * however the command ends. `quiet` turns info logs down to warnings, for commands
 * whose own output is the point.
 */
export async function withRuntime<T>(fn: (rt: Runtime, config: RuntimeConfig, logger: Logger) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(opts.quiet && config.LOG_LEVEL === "info" ? { ...config, LOG_LEVEL: "warn" } : config);
  const rt = await openRuntime(config, { logger, role: "cli" });
  try {
    return await fn(rt, rt.config, logger);
  } finally {
    await rt.close();
  }
}
