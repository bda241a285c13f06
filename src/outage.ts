import type { Logger } from "./logger.js";

/**
 * One warning when a service (Redis) goes away and one line when it is back, however
 * many clients, queues and workers report the same lost connection meanwhile. During
 * a 10 s Redis outage every BullMQ queue and worker and each ioredis client reports each
 * reconnect attempt; logged one by one (or, without a listener, printed by BullMQ with
 * console.error as raw stack traces) they bury everything else.
 */
export interface OutageLog {
  /** An error from any client of the service: a lost connection opens (or extends) an outage; anything else is logged as it comes. */
  error(err: unknown): void;
  /** A client is connected and ready again: closes the outage, if one is open. */
  recovered(): void;
  /** Whether an outage is open right now. */
  readonly down: boolean;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]);
const CONNECTION_TEXT = /connection is closed|connection (?:was )?(?:lost|closed|reset)|stream isn't writeable|reached the max retries per request|connect (?:econnrefused|etimedout)|socket closed unexpectedly|read econnreset/i;

/** Whether an error says the connection is gone, rather than that a command was wrong. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof e?.code === "string" && CONNECTION_CODES.has(e.code)) return true;
  if (e?.name === "MaxRetriesPerRequestError") return true;
  return typeof e?.message === "string" && CONNECTION_TEXT.test(e.message);
}

/**
 * `quietMs`: connection errors right after a recovery (clients reconnect one after
 * another) still belong to the outage that just ended and are not reported again.
 */
export function createOutageLog(logger: Logger, service: string, opts: { quietMs?: number; now?: () => number } = {}): OutageLog {
  const quietMs = opts.quietMs ?? 3000;
  const now = opts.now ?? Date.now;
  let downSince: number | null = null;
  let errors = 0;
  let firstError = "";
  let recoveredAt = -Infinity;
  return {
    get down() {
      return downSince !== null;
    },
    error(err) {
      const message = (err as { message?: unknown })?.message;
      const text = typeof message === "string" ? message : String(err);
      if (!isConnectionError(err) && downSince === null) {
        logger.error({ service, err: text }, `${service} error`);
        return;
      }
      if (downSince !== null) {
        errors++;
        return;
      }
      if (now() - recoveredAt < quietMs) return;
      downSince = now();
      errors = 1;
      firstError = text;
      logger.warn({ service, err: text }, `${service} unavailable; retrying until it is back`);
    },
    recovered() {
      if (downSince === null) return;
      const downMs = now() - downSince;
      logger.info({ service, downMs, errors, firstError }, `${service} available again`);
      downSince = null;
      recoveredAt = now();
    },
  };
}
