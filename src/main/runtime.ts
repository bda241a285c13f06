import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import type { Config, RuntimeConfig } from "../config.js";
import { createDb, createPool, type Db } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";
import { createJobsProducer, type JobsProducer } from "../jobs/producer.js";
import { createQueues, type Queues } from "../jobs/queues.js";
import type { Logger } from "../logger.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { createOutageLog, type OutageLog } from "../outage.js";
import type { Mailer } from "../mail/mailer.js";
import { startOutbox, type Outbox } from "../local/outbox.js";
import { createSmtpMailer } from "../mail/transport.js";
import { startEmbeddedPostgres } from "../local/embedded-postgres.js";
import { installMailFastPaths } from "./fast-paths.js";
import { ensureRedis } from "../local/redis-server.js";

/** The shared resources every entry point builds once and passes down. */
export interface Runtime {
  config: RuntimeConfig;
  logger: Logger;
  pool: pg.Pool;
  db: Db;
  /** For commands (rate limits, readiness); fails fast instead of queueing forever. */
  redis: Redis;
  /** For BullMQ, which needs maxRetriesPerRequest: null. */
  bullConnection: Redis;
  mailer: Mailer;
  outbox?: Outbox | undefined;
  queues: Queues;
  /** Every enqueue asked for by http, the CLI and `npm start` (what AppDeps calls `jobs`). */
  jobs: JobsProducer;
  /** This process's Prometheus registry and the counters the modules report to. */
  metrics: Metrics;
  /** Where every Redis client, queue and worker reports its errors: one warning per outage, one line when it ends. */
  redisOutage: OutageLog;
  /** Closes everything opened here, in reverse order; safe to call twice. */
  close(): Promise<void>;
}

export class StartupError extends Error {
  override name = "StartupError";
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Local runs without TOKEN_SECRET get a random one kept in DATA_DIR, so links survive restarts. */
async function localSecret(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, "token-secret");
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 32) return existing;
  } catch {
    // first start
  }
  await mkdir(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, secret + "\n", { mode: 0o600 });
  return secret;
}

export async function openRuntime(
  config: Config,
  opts: { logger: Logger; role: "local" | "server" | "worker" | "cli" },
): Promise<Runtime> {
  const { logger } = opts;
  const closers: { name: string; fn: () => Promise<unknown> }[] = [];
  let closing = false;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      for (const c of closers.reverse()) {
        try {
          await c.fn();
        } catch (err) {
          logger.warn({ err, what: c.name }, "error while closing");
        }
      }
    })());

  try {
    const dataDir = path.resolve(config.DATA_DIR);
    const secret = config.TOKEN_SECRET ?? (await localSecret(dataDir));

    // Postgres: the configured one, or the embedded one (reusing one that `npm start` already runs).
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const embeddedUrl = `postgres://paperboy:paperboy@127.0.0.1:${config.EMBEDDED_PG_PORT}/paperboy`;
      if (await canConnect(embeddedUrl)) {
        databaseUrl = embeddedUrl;
      } else {
        const embedded = await startEmbeddedPostgres({ dir: path.join(dataDir, "postgres"), port: config.EMBEDDED_PG_PORT, logger });
        closers.push({ name: "embedded postgres", fn: () => embedded.stop() });
        databaseUrl = embedded.url;
      }
    } else if (!(await canConnect(databaseUrl))) {
      const u = new URL(databaseUrl);
      throw new StartupError(`DATABASE_URL: cannot connect to PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`);
    }
    const pool = createPool(databaseUrl, { max: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, logger });
    closers.push({ name: "postgres pool", fn: () => pool.end() });
    await runMigrations(pool);
    const db = createDb(pool);

    // Redis: the configured one, or a private redis-server for local use.
    let localRedis;
    try {
      localRedis = await ensureRedis({ url: config.REDIS_URL, dir: path.join(dataDir, "redis"), logger, allowStart: opts.role === "local" || opts.role === "cli" });
    } catch (err) {
      throw new StartupError(`REDIS_URL: ${(err as Error).message}`);
    }
    closers.push({ name: "redis-server", fn: () => localRedis.stop() });
    const redisOutage = createOutageLog(logger, "redis");
    // Once closing, a connection's error is our own QUIT meeting a command still in flight
    // (BullMQ's version check after a quick CLI command: EPIPE), not Redis going away.
    const redisError = (err: unknown) => {
      if (!closing) redisOutage.error(err);
    };
    // Auto-pipelining: the rate-limit and per-address commands of requests handled in the
    // same turn of the event loop leave in one write (a syscall each saved, in ioredis and Redis).
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    redis.on("error", redisError);
    redis.on("ready", () => redisOutage.recovered());
    closers.push({ name: "redis", fn: () => redis.quit() });
    const bullConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    bullConnection.on("error", redisError);
    bullConnection.on("ready", () => redisOutage.recovered());
    closers.push({ name: "redis (queues)", fn: () => bullConnection.quit() });

    // Mail: real SMTP, or the local outbox (started here, or the one a running `npm start` owns).
    let outbox: Outbox | undefined;
    let smtpUrl = config.SMTP_URL;
    if (!smtpUrl) {
      try {
        outbox = await startOutbox({ dir: path.join(dataDir, "outbox"), port: config.OUTBOX_SMTP_PORT });
        const o = outbox;
        closers.push({ name: "outbox", fn: () => o.close() });
        smtpUrl = outbox.smtpUrl;
        logger.info({ port: outbox.port }, "no SMTP_URL: mail goes to the local outbox");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || opts.role === "local") {
          throw new StartupError(`OUTBOX_SMTP_PORT: cannot listen on ${config.OUTBOX_SMTP_PORT}: ${(err as Error).message}`);
        }
        smtpUrl = `smtp://127.0.0.1:${config.OUTBOX_SMTP_PORT}`;
      }
    }
    const metrics = createMetrics();
    // Before the first message: the speed tricks are installed here or not at all.
    await installMailFastPaths(config, logger, metrics, { quiet: opts.role === "cli" });
    const mailer = createSmtpMailer({
      url: smtpUrl,
      from: config.MAIL_FROM,
      poolSize: config.SMTP_POOL_SIZE,
      timeoutMs: config.SMTP_TIMEOUT_MS,
      sessionPool: config.MAIL_FAST_PATHS,
      dkim:
        config.DKIM_DOMAIN && config.DKIM_SELECTOR && config.DKIM_PRIVATE_KEY
          ? { domainName: config.DKIM_DOMAIN, keySelector: config.DKIM_SELECTOR, privateKey: config.DKIM_PRIVATE_KEY.replace(/\\n/g, "\n") }
          : undefined,
    });
    closers.push({ name: "mailer", fn: () => mailer.close() });

    const queues = createQueues(bullConnection, config.QUEUE_PREFIX, redisError, {
      mailAttempts: config.TRANSACTIONAL_MAIL_ATTEMPTS,
      mailBackoffMs: config.TRANSACTIONAL_MAIL_BACKOFF_MS,
    });
    closers.push({ name: "queues", fn: () => queues.close() });

    const jobs = createJobsProducer(queues, { sendBatchSize: config.SEND_BATCH_SIZE });
    return { config: { ...config, TOKEN_SECRET: secret }, logger, pool, db, redis, bullConnection, mailer, outbox, queues, jobs, metrics, redisOutage, close };
  } catch (err) {
    await close();
    throw err;
  }
}
