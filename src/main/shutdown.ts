import type { Logger } from "../logger.js";

/**
 * Runs `stop` once on the first SIGINT/SIGTERM. Later signals only say it is under
 * way, so an impatient second Ctrl-C cannot interrupt a half-closed pool or queue.
 */
export function onShutdown(logger: Logger, graceMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "already shutting down, please wait");
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, graceMs + 10_000);
    force.unref();
    stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** Prints a startup failure as one clear message (no stack for expected problems) and exits non-zero. */
export function exitOnStartupError(err: unknown): never {
  const e = err as Error;
  // A SourceError names its source and what is wrong with it (a missing file:PATH, say): the stack adds nothing.
  const expected = e?.name === "ConfigError" || e?.name === "StartupError" || e?.name === "SourceError";
  process.stderr.write(`paperboy could not start.\n${expected ? e.message : (e?.stack ?? String(err))}\n`);
  process.exit(1);
}
