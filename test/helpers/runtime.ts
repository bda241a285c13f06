import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/config.js";
import { buildApp, type App } from "../../src/http/app.js";
import { createLogger } from "../../src/logger.js";
import { openRuntime, type Runtime } from "../../src/main/runtime.js";
import { buildServices, type Services } from "../../src/main/services.js";
import { createTestDatabase, type TestDatabase } from "./db.js";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.js";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestRuntime extends Runtime, Services {
  database: TestDatabase;
  sink: SmtpSink;
  /** The Redis key prefix (and BullMQ prefix) that only this test file uses. */
  prefix: string;
  app(): Promise<App>;
}

/**
 * The same wiring as the entry points (openRuntime), against this file's own
 * database, Redis prefix and a real SMTP sink.
 */
export async function createTestRuntime(env: Record<string, string> = {}): Promise<TestRuntime> {
  const database = await createTestDatabase();
  const sink = await startSmtpSink();
  const prefix = `pbtest:${randomBytes(5).toString("hex")}`;
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_URL: sink.url,
    TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
    PUBLIC_URL: "http://paperboy.test",
    SCHEDULER_ENABLED: "false",
    // Pages see a database change at once (production reuses a listing day's ETag for a second).
    PAGE_CACHE_MS: "0",
    ...env,
  });
  const opened = await openRuntime(config, { logger: createLogger(config), role: "server" });
  // The same services the entry points build (src/main/services.ts), once for this file.
  const rt = { ...opened, ...(await buildServices(opened).catch(async (err: unknown) => { await opened.close(); throw err; })) };
  const apps: App[] = [];
  return {
    ...rt,
    database,
    sink,
    prefix,
    async app() {
      const app = await buildApp(rt);
      apps.push(app);
      await app.ready();
      return app;
    },
    async close() {
      for (const a of apps) await a.close();
      await rt.close();
      await sink.close();
      await database.close();
      await deleteKeys(prefix);
    },
  };
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** What a child process (an entry point, the CLI) needs to use this runtime's database, Redis prefix, SMTP sink and secret. */
export function runtimeEnv(rt: TestRuntime, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: rt.database.url,
    REDIS_URL: rt.config.REDIS_URL,
    QUEUE_PREFIX: rt.prefix,
    SMTP_URL: rt.sink.url,
    TOKEN_SECRET: rt.config.TOKEN_SECRET,
    PUBLIC_URL: rt.config.PUBLIC_URL,
    ...overrides,
  };
}
