import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loggerOptions } from "../../src/logger.js";
import { createOutageLog, isConnectionError } from "../../src/outage.js";

function capture() {
  const lines: { level: number; msg: string; errors?: number; downMs?: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  return { logger: pino(loggerOptions({ LOG_LEVEL: "info", NODE_ENV: "production" }), stream), lines };
}

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });

describe("outage log", () => {
  it("reports an outage once, however many clients report it, and its end once", () => {
    const { logger, lines } = capture();
    let t = 0;
    const log = createOutageLog(logger, "redis", { now: () => t });
    for (let i = 0; i < 300; i++) log.error(i % 2 ? refused : new Error("Connection is closed."));
    t = 10_000;
    log.recovered();
    log.recovered();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, "redis unavailable; retrying until it is back"],
      [30, "redis available again"],
    ]);
    expect(lines[1]).toMatchObject({ errors: 300, downMs: 10_000 });
  });

  it("counts late reconnect errors right after a recovery to the old outage, and opens a new one later", () => {
    const { logger, lines } = capture();
    let t = 0;
    const log = createOutageLog(logger, "redis", { now: () => t, quietMs: 3000 });
    log.error(refused);
    t = 1000;
    log.recovered();
    t = 2000;
    log.error(refused);
    expect(log.down).toBe(false);
    t = 10_000;
    log.error(refused);
    expect(log.down).toBe(true);
    expect(lines.filter((l) => l.msg.startsWith("redis unavailable"))).toHaveLength(2);
  });

  it("logs other errors as they come, and tells connection errors apart", () => {
    const { logger, lines } = capture();
    const log = createOutageLog(logger, "redis");
    log.error(new Error("ERR wrong number of arguments for 'set' command"));
    expect(lines).toMatchObject([{ level: 50, msg: "redis error" }]);
    expect(isConnectionError(refused)).toBe(true);
    expect(isConnectionError(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(true);
    expect(isConnectionError(new Error("Reached the max retries per request limit (which is 2)."))).toBe(true);
    expect(isConnectionError(new Error("Missing lock for job 7"))).toBe(false);
  });
});
