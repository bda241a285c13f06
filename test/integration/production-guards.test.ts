import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { startOutbox, type Outbox } from "../../src/local/outbox.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { spawnEntry } from "../helpers/spawn.js";

describe("production refuses what is meant for local use", () => {
  let rt: TestRuntime;
  let outbox: Outbox;
  let dir: string;
  beforeAll(async () => {
    rt = await createTestRuntime();
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-outbox-"));
    outbox = await startOutbox({ dir, port: 0 });
  });
  afterAll(async () => {
    await outbox?.close();
    await rt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("NODE_ENV=production without SMTP_URL refuses to start, naming SMTP_URL", async () => {
    const env = runtimeEnv(rt, { NODE_ENV: "production", PORT: "0" });
    delete (env as Record<string, string | undefined>).SMTP_URL;
    for (const entry of ["src/main/server.ts", "src/main/worker.ts"]) {
      const p = spawnEntry(entry, [], env);
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain("SMTP_URL: is required in production");
      // One clear message, no stack trace.
      expect(p.output()).not.toMatch(/\n\s+at /);
    }
  });

  it("an app built for production serves no outbox routes, even when handed an outbox", async () => {
    const dev = await buildApp({ ...rt, outbox });
    const prod = await buildApp({ ...rt, config: { ...rt.config, NODE_ENV: "production" }, outbox });
    try {
      expect((await dev.inject({ method: "GET", url: "/outbox" })).statusCode).toBe(200);
      for (const url of ["/outbox", "/outbox/1-000001", "/outbox/1-000001/html"]) {
        const res = await prod.inject({ method: "GET", url, headers: { accept: "text/html" } });
        expect(res.statusCode).toBe(404);
        expect(res.body).not.toContain("Local outbox");
      }
      expect(prod.printRoutes()).not.toContain("outbox");
    } finally {
      await dev.close();
      await prod.close();
    }
  });
});
