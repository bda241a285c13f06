import { pino, type Logger, type LoggerOptions } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** Email addresses never reach logs in full at info level (see mail/headers maskEmail). */
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

export function loggerOptions(config: Pick<Config, "LOG_LEVEL" | "NODE_ENV">): LoggerOptions {
  const pretty = config.NODE_ENV !== "production" && process.stdout.isTTY;
  return {
    level: config.NODE_ENV === "test" ? "silent" : config.LOG_LEVEL,
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "email", "*.email", "to"], censor: "[redacted]" },
    hooks: {
      logMethod(args, method, level) {
        // Below debug, mask anything that looks like an address inside messages.
        if (level >= 30) args = args.map((a) => (typeof a === "string" ? a.replace(EMAIL, "$1***@$2") : a)) as typeof args;
        method.apply(this, args);
      },
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } } : {}),
  };
}

export function createLogger(config: Pick<Config, "LOG_LEVEL" | "NODE_ENV">, name?: string): Logger {
  const logger = pino(loggerOptions(config));
  return name ? logger.child({ name }) : logger;
}
