import { pino, type Logger, type LoggerOptions } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** Email addresses never reach logs in full at info level and above (debug keeps them, for local digging). */
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)/g;

/** Masks one address for logs and operator output: jane.doe@example.org → j***@example.org */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email[0] ?? ""}***${email.slice(at)}`;
}

/** The same masking for every address in a text (log messages, errors). */
export function maskEmails(text: string): string {
  return text.includes("@") ? text.replace(EMAIL, "$1***@$2") : text;
}

/**
 * Masks addresses in strings inside plain objects, arrays and errors (a copy; the
 * caller's object is untouched). Depth-limited: log objects are small and shallow.
 */
function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return maskEmails(value);
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  if (value instanceof Error) {
    if (!value.message.includes("@") && !(value.stack ?? "").includes("@")) return value;
    const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as Error, value);
    copy.message = maskEmails(value.message);
    if (value.stack) copy.stack = maskEmails(value.stack);
    return copy;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

const SECRET_PATHS = ["req.headers.authorization", "req.headers.cookie"];

/** Where log lines go: stdout for the services; stderr for the CLI, whose stdout is its output. */
export type LogStream = 1 | 2;

export function loggerOptions(config: Pick<Config, "LOG_LEVEL" | "NODE_ENV">, fd: LogStream = 1): LoggerOptions {
  const pretty = config.NODE_ENV !== "production" && (fd === 2 ? process.stderr : process.stdout).isTTY;
  return {
    level: config.NODE_ENV === "test" ? "silent" : config.LOG_LEVEL,
    redact: {
      paths: [...SECRET_PATHS, "email", "*.email", "to", "*.to"],
      // Credentials vanish; an address field keeps its first letter and domain, enough to tell cases apart.
      censor: (value, path) => {
        if (SECRET_PATHS.includes(path.join("."))) return "[redacted]";
        if (typeof value === "string") return value.includes("@") ? `${value[0] ?? ""}***${value.slice(value.lastIndexOf("@"))}` : "***";
        if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? maskEmails(v) : "***"));
        return "[redacted]";
      },
    },
    hooks: {
      logMethod(args, method, level) {
        if (level >= 30) args = args.map((a) => maskDeep(a)) as typeof args;
        method.apply(this, args);
      },
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname", destination: fd } } } : {}),
  };
}

export function createLogger(config: Pick<Config, "LOG_LEVEL" | "NODE_ENV">, fd: LogStream = 1): Logger {
  const options = loggerOptions(config, fd);
  return options.transport ? pino(options) : pino(options, pino.destination({ dest: fd, sync: true }));
}
