import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createPool } from "../../src/db/client.js";
import { migrationsFolder, runMigrations } from "../../src/db/migrate.js";
import { databaseUrl, pgClient, TEMPLATE_ENV } from "./db.js";

/** Builds (once per migration set) a migrated template database that every test file copies. */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  const hash = createHash("sha256");
  for (const f of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    if (f.endsWith(".sql") || f.endsWith(".json")) hash.update(f).update(readFileSync(path.join(migrationsFolder, f)));
  }
  const template = `paperboy_tpl_${hash.digest("hex").slice(0, 12)}`;
  const admin = pgClient();
  await admin.connect();
  try {
    // Several vitest runs may start at once: serialise template creation.
    await admin.query("select pg_advisory_lock(424242)");
    const exists = await admin.query("select 1 from pg_database where datname = $1", [template]);
    if (exists.rowCount === 0) {
      await admin.query(`create database "${template}"`);
      const pool = createPool(databaseUrl(template), { max: 2 });
      try {
        await runMigrations(pool);
      } catch (err) {
        await pool.end();
        await admin.query(`drop database "${template}" with (force)`);
        throw err;
      }
      await pool.end();
    }
    await admin.query("select pg_advisory_unlock(424242)");
  } finally {
    await admin.end();
  }
  process.env[TEMPLATE_ENV] = template;
  provide(TEMPLATE_ENV, template);
}
