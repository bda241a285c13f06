import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createDb, createPool, type Db } from "../../src/db/client.js";

export const TEMPLATE_ENV = "PAPERBOY_TEST_TEMPLATE";

declare module "vitest" {
  export interface ProvidedContext {
    PAPERBOY_TEST_TEMPLATE: string;
  }
}

/** The server the tests use: this machine's PostgreSQL unless TEST_DATABASE_URL says otherwise. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/**
 * A client of its own (not from a pool) that cannot crash the test process: when the
 * server goes away (a restart, a dropped or cut-off database) pg emits "error" on the
 * client, which without a listener is an uncaught exception. Its queries still reject.
 */
export function pgClient(connectionString = adminUrl()): pg.Client {
  const client = new pg.Client({ connectionString });
  client.on("error", () => undefined);
  return client;
}

/** Connects a pgClient, runs `fn` with it and ends it, however `fn` ends. */
export async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = pgClient(connectionString);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function databaseUrl(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

/** A fresh database for one test file, copied from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject(TEMPLATE_ENV);
  const name = `paperboy_t_${randomBytes(6).toString("hex")}`;
  const admin = pgClient();
  await admin.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails if another session is copying the template at the same moment.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database "${name}" template "${template}"`);
        break;
      } catch (err) {
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const pool = createPool(url, { max: 10 });
  let closed = false;
  return {
    name,
    url,
    pool,
    db: createDb(pool),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
      await withClient(adminUrl(), (a) => a.query(`drop database if exists "${name}" with (force)`));
    },
  };
}
