import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { databaseUnavailable } from "./errors.js";
import * as schema from "./schema.js";

export type Db = NodePgDatabase<typeof schema>;
/** The handle a `db.transaction` callback receives. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Drizzle's transaction handle or the pool-backed db: both run queries. */
export type Queryable = Pick<Db, "select" | "insert" | "delete" | "update" | "execute">;

// bigint ids and counts come back as JS numbers: ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  max?: number;
  /** How long a request waits for a connection (a new one, or a free one of a busy pool). */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/** The error a client's connection was lost with, for clients that lost it. */
const lostWith = new WeakMap<pg.ClientBase, Error>();

export function createPool(connectionString: string, opts: PoolOptions = {}): pg.Pool {
  const { max = 10, connectTimeoutMs = 5000, logger } = opts;
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: connectTimeoutMs, application_name: "paperboy" });
  // pg-pool listens for errors on idle clients only; a client checked out for a
  // transaction or a job has no listener of its own, and an 'error' event without
  // one (a Postgres restart: "Connection terminated unexpectedly") ends the process.
  // Every client gets one for its whole life. The loss still reaches whoever holds
  // the client: its running and later queries fail, and the pool drops it on release.
  pool.on("connect", (client) => {
    client.on("error", (err: Error) => {
      if (lostWith.has(client)) return;
      lostWith.set(client, err);
      logger?.warn({ err: err.message, code: (err as { code?: unknown }).code }, "postgres connection lost");
    });
  });
  // An idle client losing its connection is already removed by the pool; this keeps the pool's re-emit quiet.
  pool.on("error", () => undefined);
  return pool;
}

/** Whether this client's connection has failed (it can run no more queries). */
export const connectionLost = (client: pg.ClientBase): Error | undefined => lostWith.get(client);

/**
 * Runs `fn` in a transaction on one client of the pool. Unlike drizzle's own (which
 * throws the failed ROLLBACK's error and returns the client as if healthy), the
 * caller gets the error that broke the transaction, and a client whose connection
 * or transaction state is in doubt goes back with that error, so the pool closes
 * it instead of lending it to the next request.
 */
async function poolTransaction<T>(pool: pg.Pool, txDbs: WeakMap<pg.PoolClient, Db>, fn: (tx: Tx) => Promise<T>, config?: Parameters<Db["transaction"]>[1]): Promise<T> {
  const client = await pool.connect();
  let onClient = txDbs.get(client);
  if (!onClient) {
    onClient = drizzle({ client, schema });
    txDbs.set(client, onClient);
  }
  let thrown: { err: unknown } | undefined;
  try {
    const result = await onClient.transaction(async (tx) => {
      try {
        return await fn(tx);
      } catch (err) {
        thrown = { err };
        throw err;
      }
    }, config);
    client.release();
    return result;
  } catch (err) {
    // err is the callback's own error when ROLLBACK worked; else BEGIN, COMMIT or ROLLBACK failed.
    const clean = thrown !== undefined && err === thrown.err && !connectionLost(client);
    const lost = connectionLost(client);
    client.release(clean ? undefined : (lost ?? (err as Error)));
    const original = thrown ? thrown.err : err;
    // Said plainly (a job's failure reason, a log line) rather than as the failed query's text and parameters.
    const away = databaseUnavailable(original) ?? (lost ? databaseUnavailable(lost) : undefined);
    if (away) {
      // Class 40: Postgres rolled it back because of transactions beside it (a deadlock, a serialization failure).
      const what = away.code?.startsWith("40") ? "Postgres rolled back a transaction, to be tried again" : "Postgres connection lost during a transaction";
      throw new AppError("DATABASE_UNAVAILABLE", `${what}: ${away.message}`, undefined, { cause: original });
    }
    throw original;
  }
}

export function createDb(pool: pg.Pool): Db {
  const db = drizzle({ client: pool, schema });
  const txDbs = new WeakMap<pg.PoolClient, Db>();
  const transaction: Db["transaction"] = (fn, config) => poolTransaction(pool, txDbs, fn, config);
  return Object.assign(db, { transaction });
}

export { schema };
