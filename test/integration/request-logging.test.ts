import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { loggerOptions } from "../../src/logger.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

describe("request logs", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: "admin-token-0123456789abcdef" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("carry the request id on every line, return it to the client, and never the admin token", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logger = pino(loggerOptions({ LOG_LEVEL: "info", NODE_ENV: "production" }), stream);
    const app = await buildApp({ ...rt, logger });
    try {
      const res = await app.inject({ method: "GET", url: "/admin", headers: { "x-request-id": "req-abc-123", authorization: "Bearer wrong-token-but-secret" } });
      expect(res.statusCode).toBe(401);
      expect(res.headers["x-request-id"]).toBe("req-abc-123");
      const own = await app.inject({ method: "GET", url: "/healthz" });
      expect(own.headers["x-request-id"]).toBeTruthy();
    } finally {
      await app.close();
    }
    const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined || l.code !== undefined);
    expect(requestLines.length).toBeGreaterThanOrEqual(4);
    for (const l of requestLines) expect(l.reqId).toBeTruthy();
    expect(lines.filter((l) => l.reqId === "req-abc-123").length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(lines)).not.toContain("wrong-token-but-secret");
  });
});
