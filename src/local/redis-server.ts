import { spawn, spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export const REDIS_HELP = (url: string) =>
  `Redis does not answer at ${url}, and no redis-server is on PATH to start one.\n` +
  "Get Redis one of these ways, then start again:\n" +
  "  - install it: apt-get install redis-server  |  brew install redis\n" +
  "  - run it in Docker: docker compose up -d redis\n" +
  "  - point REDIS_URL at a Redis you already have";

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * Uses the Redis at `url` when it answers; for `npm start` on a local address it
 * otherwise starts a private redis-server (AOF on, data in `dir`) on that port.
 */
export async function ensureRedis(opts: { url: string; dir: string; logger: Logger; allowStart: boolean }): Promise<LocalRedis> {
  if (await answers(opts.url)) return { url: opts.url, stop: () => Promise.resolve() };
  const u = new URL(opts.url);
  const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(u.hostname);
  const onPath = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!opts.allowStart || !local || !onPath) throw new Error(REDIS_HELP(opts.url));

  const dir = path.resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const port = u.port || "6379";
  const child = spawn(
    "redis-server",
    ["--port", port, "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (let i = 0; i < 50; i++) {
    if (await answers(opts.url)) {
      opts.logger.info({ port, dir }, "started a private redis-server");
      return {
        url: opts.url,
        async stop() {
          if (child.exitCode === null) child.kill("SIGTERM");
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server was started on port ${port} but does not answer. ${REDIS_HELP(opts.url)}`);
}
