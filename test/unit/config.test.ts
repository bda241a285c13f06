import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("config", () => {
  it("has working defaults for a local run with no environment", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(c.PAPERS_SOURCES).toEqual(["huggingface"]);
  });

  it("lists every invalid variable in one error", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", INGEST_TZ: "Mars/Olympus", PAPERS_SOURCES: "huggingface,rss" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ["PORT", "DATABASE_URL", "INGEST_TZ", "PAPERS_SOURCES"]) expect(message).toContain(name);
  });

  it("requires a token secret in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/TOKEN_SECRET/);
    expect(loadConfig({ NODE_ENV: "production", TOKEN_SECRET: "x".repeat(32), SMTP_URL: "smtp://relay:587" }).NODE_ENV).toBe("production");
  });

  it("requires SMTP_URL in production: the local outbox is for development only", () => {
    expect(() => loadConfig({ NODE_ENV: "production", TOKEN_SECRET: "x".repeat(32) })).toThrow(/SMTP_URL: is required in production/);
    expect(loadConfig({ TOKEN_SECRET: "x".repeat(32) }).SMTP_URL).toBeUndefined();
  });

  it("TRUST_PROXY is off by default, takes a hop count or proxy addresses, and refuses to believe everyone", () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 192.168.1.4,loopback, fd00::/8" }).TRUST_PROXY).toEqual(["10.0.0.0/8", "192.168.1.4", "loopback", "fd00::/8"]);
    expect(() => loadConfig({ TRUST_PROXY: "true" })).toThrow(/TRUST_PROXY: true would believe any client/);
    expect(() => loadConfig({ TRUST_PROXY: "10.0.0.0/33,proxy.example" })).toThrow(/TRUST_PROXY: "10.0.0.0\/33", "proxy.example"/);
  });

  it("treats empty values as unset and parses lists", () => {
    const c = loadConfig({ SMTP_URL: "", ARXIV_CATEGORIES: "cs.CL, cs.LG ,", SCHEDULER_ENABLED: "false" });
    expect(c.SMTP_URL).toBeUndefined();
    expect(c.ARXIV_CATEGORIES).toEqual(["cs.CL", "cs.LG"]);
    expect(c.SCHEDULER_ENABLED).toBe(false);
  });
});

describe(".env.example", () => {
  it("documents every configuration variable, and only those", async () => {
    const { readFile } = await import("node:fs/promises");
    const { configSchema } = await import("../../src/config.js");
    const text = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
    const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(configSchema.shape).sort());
  });
});
