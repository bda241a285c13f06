import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A database of the bench's own on the server BENCH_DATABASE_URL names (default: the
 * local one), created before the run and dropped after it, whatever the run left open.
 */
export function scratchDatabase() {
  const admin = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `paperboy_bench_${randomBytes(4).toString("hex")}`;
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const adminQuery = async (text: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  return {
    name,
    url: u.toString(),
    create: () => adminQuery(`create database "${name}"`),
    drop: () => adminQuery(`drop database if exists "${name}" with (force)`),
  };
}
