import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime;
let app: App;

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
});
afterAll(async () => {
  await rt?.close();
});

/**
 * Paths Fastify cannot route at all: a broken percent-escape, or a parameter longer than
 * its maxParamLength. They used to get Fastify's raw `{"error":"Bad Request","code":"FST_ERR_…"}`
 * with the path echoed back (for /feed/… that is a feed token), not paperboy's answer.
 */
describe("a path no route can read", () => {
  const paths = [
    ["a broken escape in a day", "/papers/%E0%A4%A"],
    ["a broken escape in a feed file", "/feed/1.f.1.0.abc%ZZ.atom"],
    ["a 5,000-character day", `/papers/${"9".repeat(5000)}`],
    ["a 5,000-character week", `/papers/week/${"9".repeat(5000)}`],
  ] as const;

  for (const [what, url] of paths) {
    it(`${what}: a person sees the not-found page`, async () => {
      const res = await app.inject({ method: "GET", url, headers: { accept: "text/html,application/xhtml+xml" } });
      expect(res.statusCode).toBe(404);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      expect(res.body).toContain("There is no page at this address.");
      expect(res.body).not.toContain("FST_ERR");
    });

    it(`${what}: a client gets the API's error shape, without the path echoed`, async () => {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode).toBe(404);
      const body = res.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe("NOT_FOUND");
      expect(body.error.message).not.toContain(url.slice(0, 20));
      expect(res.body).not.toContain("FST_ERR");
    });
  }
});

describe("the static assets' refusals", () => {
  it("a path the assets will not serve (a NUL byte, an escape from their folder) is not found, not a bad body", async () => {
    for (const url of ["/assets/signup.js%00", "/assets/.%00/x", "/assets//etc/passwd"]) {
      const res = await app.inject({ method: "GET", url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 404 });
      expect(res.json<{ error: { code: string; field?: string } }>().error).toEqual(expect.objectContaining({ code: "NOT_FOUND" }));
    }
  });

  it("a Range past the end of an asset is a 416 that gives the asset's length", async () => {
    const whole = await app.inject({ method: "GET", url: "/assets/signup.js" });
    const res = await app.inject({ method: "GET", url: "/assets/signup.js", headers: { range: "bytes=99999999-" } });
    expect(res.statusCode).toBe(416);
    expect(res.headers["content-range"]).toBe(`bytes */${whole.rawPayload.length}`);
    const part = await app.inject({ method: "GET", url: "/assets/signup.js", headers: { range: "bytes=0-9" } });
    expect(part.statusCode).toBe(206);
    expect(part.body).toBe(whole.body.slice(0, 10));
  });
});
