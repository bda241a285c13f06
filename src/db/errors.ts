/**
 * Telling "the database is away" (a restart, a failover, a network cut, an exhausted
 * pool) from "this query is wrong". The first is temporary and says nothing about
 * the request: HTTP answers 503 with Retry-After, a job retries later.
 */

/** Socket errors on the way to the server. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNABORTED"]);

/**
 * SQLSTATEs of a server that is going, gone or not yet back: class 08 (connection
 * exception), 57P01 admin shutdown (`pg_ctl stop/restart -m fast`), 57P02 crash
 * shutdown, 57P03 cannot connect now (starting up, shutting down, in recovery),
 * 53300 too many connections. Also 40001 serialization failure and 40P01 deadlock
 * detected: Postgres rolled the transaction back because of others running beside
 * it, and the same request succeeds when tried again (a 503 with Retry-After says so).
 */
const UNAVAILABLE_SQLSTATE = /^(?:08[0-9A-Z]{3}|57P0[123]|53300|40001|40P01)$/;

/**
 * node-postgres reports a dropped socket, a connect timeout and use of a client that
 * already lost its connection as plain Errors with these messages (no code).
 */
const PG_CONNECTION_MESSAGES = [
  "Connection terminated unexpectedly",
  "Connection terminated due to connection timeout",
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
];

function isUnavailableHere(err: object): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === "string" && PG_CONNECTION_MESSAGES.includes(message);
}

/**
 * The error in err's chain (err itself, or what it wraps: drizzle's DrizzleQueryError,
 * an AppError's cause) that says the database is unreachable; undefined when none does.
 */
export function databaseUnavailable(err: unknown): { message: string; code?: string } | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e !== null && typeof e === "object"; depth++) {
    if (isUnavailableHere(e)) return e as { message: string; code?: string };
    // A connect to a name with several addresses fails with all of them at once.
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.some((x) => x !== null && typeof x === "object" && isUnavailableHere(x as object))) return e as { message: string; code?: string };
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isDatabaseUnavailable = (err: unknown): boolean => databaseUnavailable(err) !== undefined;
