import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { createQueues } from "../../src/jobs/queues.js";
import { digestRow, seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { spawnEntry, type Spawned } from "../helpers/spawn.js";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  const address = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 0;
}

/** A private redis-server this test starts, kills and starts again (never the machine's shared one). */
function privateRedis(port: number, dir: string) {
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on("error", () => undefined);
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          probe.disconnect();
        }
      }
      throw new Error("private redis-server did not start");
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      c.kill("SIGKILL");
      await gone;
    },
  };
}

describe("a Redis outage under a running worker", () => {
  let rt: TestRuntime;
  let redis: ReturnType<typeof privateRedis>;
  let dir: string;
  let worker: Spawned | undefined;

  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-redis-"));
    redis = privateRedis(await freePort(), dir);
    await redis.start();
  });
  afterAll(async () => {
    if (worker && worker.child.exitCode === null) worker.child.kill("SIGKILL");
    await redis?.kill();
    await rt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("logs one structured warning when Redis goes, one line when it is back, no raw stack traces, and keeps sending", { timeout: 120_000 }, async () => {
    worker = spawnEntry("src/main/worker.ts", [], {
      ...runtimeEnv(rt, { REDIS_URL: redis.url }),
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      MAIL_DOMAIN: "paperboy.test",
      SCHEDULER_ENABLED: "false",
    });
    await worker.waitForOutput(/worker started/, 60_000);

    await redis.kill();
    await worker.waitForOutput(/redis unavailable/, 20_000);
    // Ten-odd seconds of reconnect attempts by every queue, worker and client.
    await new Promise((r) => setTimeout(r, 6000));
    await redis.start();
    await worker.waitForOutput(/redis available again/, 30_000);
    await new Promise((r) => setTimeout(r, 3000));

    // Still working: a send job put on the restarted Redis is picked up and sent.
    const { digestId } = await seedOne(rt.pool, { email: "after-outage@example.org", papers: 1 });
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queues = createQueues(connection, rt.prefix);
    try {
      await enqueueSendBatches(queues, [digestId], 10);
      const deadline = Date.now() + 30_000;
      while ((await digestRow(rt.pool, digestId)).status !== "sent" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect((await digestRow(rt.pool, digestId)).status).toBe("sent");
    } finally {
      await queues.close();
      connection.disconnect();
    }

    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);

    const lines = worker.output().split("\n").filter((l) => l.trim() !== "");
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson, notJson.slice(0, 10).join("\n")).toEqual([]);
    const logs = lines.map((l) => JSON.parse(l) as { msg?: string; level?: number; downMs?: number });
    const down = logs.filter((l) => l.msg?.startsWith("redis unavailable"));
    const back = logs.filter((l) => l.msg === "redis available again");
    expect(down).toHaveLength(1);
    expect(down[0]!.level).toBe(40);
    expect(back).toHaveLength(1);
    expect(back[0]!.downMs).toBeGreaterThan(5000);
    // Nothing else about Redis at warning or above: no per-client, per-retry noise.
    expect(logs.filter((l) => (l.level ?? 0) >= 40 && /redis|ECONNREFUSED|Connection is closed/i.test(JSON.stringify(l)) && l !== down[0])).toEqual([]);
  });
});
