import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loggerOptions, maskEmails } from "../../src/logger.js";

function capture(level: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino(loggerOptions({ LOG_LEVEL: level, NODE_ENV: "production" }), stream);
  return { logger, lines, raw: () => JSON.stringify(lines) };
}

describe("logger", () => {
  it("masks an email address in the message, in nested fields and in errors at info level", () => {
    const { logger, lines, raw } = capture();
    logger.info("confirmation sent to jane.doe@example.org");
    logger.info({ subscriber: { address: "Jane.Doe@Example.org" }, list: ["bob@mail.example.com"] }, "signup");
    logger.warn({ err: new Error("550 mailbox jane.doe@example.org unknown") }, "send failed");
    logger.info({ email: "jane.doe@example.org", to: "bob@example.com" }, "fields");
    expect(raw()).not.toMatch(/jane\.doe@|Jane\.Doe@|bob@/);
    expect(lines[0]?.msg).toBe("confirmation sent to j***@example.org");
    expect(lines[1]?.subscriber).toEqual({ address: "J***@Example.org" });
    expect(lines[1]?.list).toEqual(["b***@mail.example.com"]);
    expect((lines[2]?.err as { message: string }).message).toBe("550 mailbox j***@example.org unknown");
    expect(lines[3]).toMatchObject({ email: "j***@example.org", to: "b***@example.com" });
  });

  it("never logs an authorization header", () => {
    const { logger, raw } = capture();
    logger.info({ req: { headers: { authorization: "Bearer s3cret-admin-token" } } }, "request");
    expect(raw()).not.toContain("s3cret");
  });

  it("leaves a caller's object untouched", () => {
    const { logger } = capture();
    const obj = { address: "jane@example.org" };
    logger.info(obj, "x");
    expect(obj.address).toBe("jane@example.org");
  });

  it("masks every address in a text", () => {
    expect(maskEmails("a@b.org and carl@x.example.com")).toBe("a***@b.org and c***@x.example.com");
    expect(maskEmails("no address here")).toBe("no address here");
  });
});
