import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime;
let app: App;
let ip = 0;
const remoteAddress = () => `10.9.0.${++ip}`;

async function stored(): Promise<string[]> {
  const { rows } = await rt.db.execute<{ email: string }>(sql`select email from subscribers order by id`);
  return rows.map((r) => r.email);
}

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
});
afterAll(async () => {
  await rt?.close();
});

describe("addresses people really have", () => {
  it("the JSON API accepts an internationalised domain and stores it in its ASCII form", async () => {
    const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: remoteAddress(), payload: { email: "ines@bücher.example", topics: ["diffusion models"] } });
    expect(res.statusCode).toBe(202);
    expect(await stored()).toEqual(["ines@xn--bcher-kva.example"]);
    // Confirmation mail is queued for the worker; the admin e2e test sends to an IDN address over SMTP.
  });

  it("the same inbox written either way is one subscriber", async () => {
    const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: remoteAddress(), payload: { email: "ines@xn--bcher-kva.example", topics: ["reasoning"] } });
    expect(res.statusCode).toBe(202);
    expect(await stored()).toEqual(["ines@xn--bcher-kva.example"]);
  });

  it("the form accepts an internationalised domain too (as a browser without conversion sends it)", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/",
      remoteAddress: remoteAddress(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ email: "Jonas@Straße.example", topics: "agents" }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("Check your inbox");
    expect(await stored()).toContain("Jonas@xn--strae-oqa.example");
  });

  it("a non-ASCII local part is refused with 400 naming the email field, and nothing is stored", async () => {
    const before = await stored();
    const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: remoteAddress(), payload: { email: "jörg@example.org", topics: ["agents"] } });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; field: string; message: string } }>();
    expect(body.error.field).toBe("email");
    expect(body.error.message).toMatch(/before the @ must be plain ASCII/);
    const form = await app.inject({
      method: "POST",
      url: "/",
      remoteAddress: remoteAddress(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ email: "jörg@example.org", topics: "agents" }).toString(),
    });
    expect(form.statusCode).toBe(400);
    expect(form.body).toContain("before the @ must be plain ASCII");
    for (const email of ["ines@", "@bücher.example", "ines@bü cher.example", "ines@bücher..example"]) {
      const bad = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: remoteAddress(), payload: { email, topics: ["agents"] } });
      expect(bad.statusCode, email).toBe(400);
      expect(bad.json<{ error: { field: string } }>().error.field).toBe("email");
    }
    expect(await stored()).toEqual(before);
  });

  it("the API docs still describe the signup body", async () => {
    const res = await app.inject({ method: "GET", url: "/docs/json" });
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(res.json())).toContain('"email"');
  });
});
