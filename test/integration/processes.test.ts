import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { afterAll, describe, expect, it } from "vitest";
import { migrationsFolder } from "../../src/db/migrate.js";
import * as schema from "../../src/db/schema.js";
import { adminUrl, databaseUrl, pgClient, withClient } from "../helpers/db.js";
import { deleteKeys, REDIS_URL } from "../helpers/runtime.js";
import { spawnEntry } from "../helpers/spawn.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function emptyDatabase(): Promise<string> {
  const name = `paperboy_p_${randomBytes(5).toString("hex")}`;
  await withClient(adminUrl(), (admin) => admin.query(`create database "${name}"`));
  cleanups.push(async () => {
    await withClient(adminUrl(), (a) => a.query(`drop database if exists "${name}" with (force)`));
  });
  return databaseUrl(name);
}

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

describe("entry points", () => {
  it("refuses to start with an invalid variable, naming it", async () => {
    const p = spawnEntry("src/main/server.ts", [], { PORT: "not-a-port", SEND_BATCH_SIZE: "0" });
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toMatch(/PORT/);
    expect(p.output()).toMatch(/SEND_BATCH_SIZE/);
  });

  it("refuses to start with a DATABASE_URL that does not connect, naming it", async () => {
    const p = spawnEntry("src/main/server.ts", [], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", TOKEN_SECRET: "x".repeat(32) });
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toMatch(/DATABASE_URL: cannot connect/);
  });

  it("two processes starting together against one empty database apply the migrations once", async () => {
    const url = await emptyDatabase();
    const env = { DATABASE_URL: url, REDIS_URL, SMTP_URL: "smtp://127.0.0.1:9", LOG_LEVEL: "warn" };
    const [a, b] = [spawnEntry("src/main/cli.ts", ["migrate"], env), spawnEntry("src/main/cli.ts", ["migrate"], env)];
    expect([await a.exited, await b.exited]).toEqual([0, 0]);
    // The database is dropped after the file: a failed assertion must not leave an unheard client behind.
    const client = pgClient(url);
    await client.connect();
    try {
      const applied = await client.query("select count(*)::int as n from drizzle.__drizzle_migrations");
      const files = (await readdir(migrationsFolder)).filter((f) => f.endsWith(".sql"));
      expect(applied.rows[0]).toEqual({ n: files.length });
      // Every table the schema declares, and no other.
      const declared = Object.values(schema).filter((t) => is(t, PgTable)).map((t) => getTableConfig(t).name).sort();
      const tables = await client.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = 'public' order by 1");
      expect(tables.rows.map((r) => r.name)).toEqual(declared);
    } finally {
      await client.end();
    }
  });

  it("npm start runs on embedded Postgres, serves /readyz and /outbox, stops on Ctrl-C and reuses its data", { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "paperboy-local-"));
    // As root, embedded Postgres runs as its own user, which must reach the data folder.
    await chmod(dataDir, 0o755);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const prefix = `pbtest:${randomBytes(4).toString("hex")}`;
    cleanups.push(() => deleteKeys(prefix));
    const port = freePort();
    const pgPort = freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      OUTBOX_SMTP_PORT: String(freePort()),
      QUEUE_PREFIX: prefix,
      SCHEDULER_ENABLED: "false",
    };
    const base = `http://127.0.0.1:${port}`;

    const first = spawnEntry("src/main/local.ts", [], env);
    cleanups.push(async () => void first.child.kill("SIGKILL"));
    await first.waitForOutput(/paperboy is running/, 90_000);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const outbox = await fetch(`${base}/outbox`);
    expect(outbox.status).toBe(200);
    expect(await outbox.text()).toContain("Local outbox");

    await withClient(`postgres://paperboy:paperboy@127.0.0.1:${pgPort}/paperboy`, (db) =>
      db.query(
        "insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url) values ('2511.00042', 'Kept', 'Across restarts.', '2026-11-27', 'a', 'b')",
      ),
    );

    const stoppedAt = Date.now();
    first.child.kill("SIGINT");
    first.child.kill("SIGINT"); // an impatient second Ctrl-C must not break the orderly stop
    expect(await first.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);

    const second = spawnEntry("src/main/local.ts", [], env);
    cleanups.push(async () => void second.child.kill("SIGKILL"));
    await second.waitForOutput(/paperboy is running/, 90_000);
    const kept = await withClient(`postgres://paperboy:paperboy@127.0.0.1:${pgPort}/paperboy`, (again) => again.query("select title from papers where arxiv_id = '2511.00042'"));
    expect(kept.rows).toEqual([{ title: "Kept" }]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
