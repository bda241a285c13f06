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
    // One info line per request, with its id, status and time.
    const requestLines = lines.filter((l) => l.msg === "request");
    expect(requestLines).toEqual([
      expect.objectContaining({ level: 30, reqId: "req-abc-123", method: "GET", path: "/admin", statusCode: 401 }),
      expect.objectContaining({ level: 30, method: "GET", path: "/healthz", statusCode: 200 }),
    ]);
    expect(lines.filter((l) => l.level === 30 && l.reqId !== undefined)).toHaveLength(2);
    expect(typeof requestLines[1]!.ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("wrong-token-but-secret");
  });

  it("keep a forwarded request id only when it looks like one", async () => {
    const app = await rt.app();
    const kept = await app.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": "3f2c9a7e-1b4d-4c8e-9f60-0a1b2c3d4e5f" } });
    expect(kept.headers["x-request-id"]).toBe("3f2c9a7e-1b4d-4c8e-9f60-0a1b2c3d4e5f");
    for (const bad of ["A".repeat(6000), 'req-1", "statusCode":200, "x":"', "two words", ""]) {
      const res = await app.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": bad } });
      expect(res.headers["x-request-id"]).toMatch(/^req-[0-9a-z]+$/);
    }
  });

  it("log the path of a link from an email without its token", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const app = await buildApp({ ...rt, logger: pino(loggerOptions({ LOG_LEVEL: "info", NODE_ENV: "production" }), stream) });
    try {
      await app.inject({ method: "GET", url: "/manage?token=1.m.1.0.secret-part-of-token" });
      // A personal feed's token is its file name: the line names the route, not the token.
      await app.inject({ method: "GET", url: "/feed/1.f.1.0.secret-feed-token.atom" });
      const icon = await app.inject({ method: "GET", url: "/favicon.ico" });
      expect(icon.statusCode).toBe(200);
      expect(icon.headers["content-type"]).toContain("image/svg+xml");
    } finally {
      await app.close();
    }
    expect(lines.filter((l) => l.msg === "request").map((l) => l.path)).toEqual(["/manage", "/feed/:file", "/favicon.ico"]);
    expect(JSON.stringify(lines)).not.toContain("secret-part-of-token");
    expect(JSON.stringify(lines)).not.toContain("secret-feed-token");
  });
});
