import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const ADMIN = "admin-token-hostile-0123456789";
let rt: TestRuntime;
let app: App;
let manageToken: string;
let unsubscribeToken: string;
let ip = 0;
const remoteAddress = () => `10.7.${Math.floor(++ip / 250)}.${ip % 250}`;

async function rowCounts(): Promise<Record<string, number>> {
  const { rows } = await rt.pool.query<{ t: string; n: number }>(`
    select 'subscribers' as t, count(*)::int as n from subscribers union all
    select 'topics', count(*)::int from topics union all
    select 'subscriber_topics', count(*)::int from subscriber_topics union all
    select 'email_events', count(*)::int from email_events`);
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

beforeAll(async () => {
  rt = await createTestRuntime({ ADMIN_TOKEN: ADMIN });
  app = await rt.app();
  const [s] = await rt.db.insert(subscribers).values({ email: "kept@example.org", status: "active", confirmedAt: new Date() }).returning();
  const ctx = { publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET };
  manageToken = tokenFor(ctx, s!, "manage");
  unsubscribeToken = tokenFor(ctx, s!, "unsubscribe");
});
afterAll(async () => {
  await rt?.close();
});

/** Every door a topic comes in by: the same rule answers at each, naming the topic. */
function topicDoors(topic: string) {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const formHeaders = { "content-type": "application/x-www-form-urlencoded" };
  return [
    { name: "signup API", req: { method: "POST" as const, url: "/api/subscriptions", payload: { email: "x@example.org", topics: ["ok topic", topic] } }, field: "topics.1" },
    { name: "signup form", req: { method: "POST" as const, url: "/", headers: formHeaders, payload: form({ email: "x@example.org", topics: `ok topic\n${topic}` }) }, field: "topics.1" },
    { name: "PATCH", req: { method: "PATCH" as const, url: `/api/subscriptions/me?token=${manageToken}`, payload: { topics: [topic] } }, field: "topics.0" },
    { name: "manage form", req: { method: "POST" as const, url: "/manage", headers: formHeaders, payload: form({ token: manageToken, topics: topic }) }, field: "topics.0" },
    { name: "preview", req: { method: "GET" as const, url: `/api/preview?${form({ topics: topic })}` }, field: "topics.0" },
    { name: "search box", req: { method: "GET" as const, url: `/search?${form({ q: topic })}` }, field: "q" },
    {
      name: "admin test digest",
      req: { method: "POST" as const, url: "/admin/actions/test-digest", headers: { ...formHeaders, authorization: `Bearer ${ADMIN}` }, payload: form({ email: "x@example.org", topics: topic }) },
      field: "topics.0",
    },
  ];
}

describe("text from people is checked at every door", () => {
  // A lone surrogate can only arrive as a JSON escape (\ud800): UTF-8 forms and URLs cannot carry one.
  const bad: [string, string, boolean?][] = [
    ["a NUL byte", "diffusion\u0000models"],
    ["a control character", "diffusion\u0007models"],
    ["a bidi override", "diffusion \u202Emodels"],
    ["a right-to-left mark", "diffusion\u200Fmodels"],
    ["a zero-width space", "diffu\u200Bsion models"],
    ["33 minus signs", "-".repeat(33)],
    ["nested negations", "-!".repeat(20) + "x"],
    ["a lone surrogate", "diffusion \uD800models", true],
  ];
  for (const [what, topic, jsonOnly] of bad) {
    it(`a topic with ${what} is refused with 400 naming the topic, and nothing is stored`, async () => {
      const before = await rowCounts();
      for (const door of topicDoors(topic).filter((d) => !jsonOnly || typeof d.req.payload === "object")) {
        const res = await app.inject({ ...door.req, remoteAddress: remoteAddress() });
        expect(res.statusCode, `${door.name}: ${res.body.slice(0, 200)}`).toBe(400);
        if (res.headers["content-type"]?.toString().includes("json")) {
          expect(res.json<{ error: { field: string } }>().error.field, door.name).toBe(door.field);
        } else {
          // The pages show the message next to the field instead.
          expect(res.body, door.name).toMatch(/control character|text-direction|too many operators|broken Unicode|invisible character/);
        }
      }
      expect(await rowCounts()).toEqual(before);
    });
  }

  it("a form or query whose bytes are not UTF-8 is refused, not stored as its %-escapes", async () => {
    const before = await rowCounts();
    const formHeaders = { "content-type": "application/x-www-form-urlencoded" };
    const notUtf8 = "%ED%A0%80ab"; // an encoded surrogate half: no UTF-8 decoder accepts it
    for (const req of [
      { method: "POST" as const, url: "/", headers: formHeaders, payload: `email=x%40example.org&topics=${notUtf8}` },
      { method: "POST" as const, url: "/manage", headers: formHeaders, payload: `token=${encodeURIComponent(manageToken)}&topics=${notUtf8}` },
      { method: "GET" as const, url: `/api/preview?topics=${notUtf8}` },
      { method: "GET" as const, url: `/search?q=${notUtf8}` },
    ]) {
      const res = await app.inject({ ...req, remoteAddress: remoteAddress() });
      expect(res.statusCode, `${req.url}: ${res.body.slice(0, 200)}`).toBe(400);
      expect(res.body, req.url).toMatch(/not UTF-8/);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it("a form that repeats one field to fill the 64 KB body is answered at once (parsing it is not quadratic)", async () => {
    const formHeaders = { "content-type": "application/x-www-form-urlencoded" };
    const timed = async (payload: string) => {
      expect(payload.length).toBeLessThanOrEqual(64 * 1024);
      const started = performance.now();
      const res = await app.inject({ method: "POST", url: "/", headers: formHeaders, payload, remoteAddress: remoteAddress() });
      expect(res.statusCode, res.body.slice(0, 200)).toBe(400);
      return performance.now() - started;
    };
    // The same size with every name different: linear work, the yardstick of this run on this machine.
    const base = await timed(Array.from({ length: 8_000 }, (_, i) => `f${i}=x`).join("&"));
    // Each repeat used to copy the array of the values before it: 32 000 repeats took 7.5 s of one core (~300× the yardstick).
    for (const payload of ["a&".repeat(32_000), `email=x%40example.org&${"topics=x&".repeat(7_000)}`]) {
      expect(await timed(payload)).toBeLessThan(Math.max(10 * base, 500));
    }
  });

  it("tab and line breaks are allowed where a person types them (the topics textarea)", async () => {
    const res = await app.inject({
      method: "GET",
      url: `/api/preview?${new URLSearchParams({ topics: "diffusion\tmodels\r\nreasoning" }).toString()}`,
      remoteAddress: remoteAddress(),
    });
    expect(res.statusCode).toBe(200);
  });
});

describe("a field given twice, or a number that is not one, is refused in plain words", () => {
  it("names the field and says what to do, not zod's developer wording", async () => {
    const page = await app.inject({ method: "GET", url: "/search?q=a&q=b", headers: { accept: "text/html" }, remoteAddress: remoteAddress() });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain("q: give one value, not several.");
    expect(page.body).not.toMatch(/received array|Invalid input/);
    const api = await app.inject({ method: "GET", url: "/api/preview?topics=diffusion&limit=five", remoteAddress: remoteAddress() });
    expect(api.statusCode).toBe(400);
    expect(api.json()).toMatchObject({ error: { code: "VALIDATION", field: "limit", message: "limit: must be a number." } });
  });
});

describe("dates and bodies that used to reach a 500", () => {
  it("preview refuses dates that are not real calendar dates in a sane range", async () => {
    for (const date of ["0000-01-01", "1900-01-01", "2026-02-30", "99999-01-01", "3000-01-01", "2026-13-01", "2026-1-1"]) {
      const res = await app.inject({ method: "GET", url: `/api/preview?topics=diffusion&date=${date}`, remoteAddress: remoteAddress() });
      expect(res.statusCode, date).toBe(400);
      expect(res.json<{ error: { field: string } }>().error.field).toBe("date");
    }
    expect((await app.inject({ method: "GET", url: "/api/preview?topics=diffusion&date=2026-11-27", remoteAddress: remoteAddress() })).statusCode).toBe(200);
  });

  it("admin ingest refuses year 0000 as a day", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/admin/actions/ingest",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/x-www-form-urlencoded" },
      payload: "day=0000-01-01",
    });
    expect(res.statusCode).toBe(400);
    expect(await rt.queues.ingest.count()).toBe(0);
  });

  it("a truncated multipart body on the one-click POST still unsubscribes (the token authorises, the body is ignored)", async () => {
    const boundary = "----pb";
    const truncated = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Cl`;
    const res = await app.inject({
      method: "POST",
      url: `/unsubscribe/one-click?token=${unsubscribeToken}`,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      payload: truncated,
    });
    expect(res.statusCode).toBe(200);
    const forged = await app.inject({
      method: "POST",
      url: "/unsubscribe/one-click?token=1.u.1.0.forged",
      headers: { "content-type": "multipart/form-data" },
      payload: `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n\u0000`,
    });
    expect(forged.statusCode).toBe(403);
  });

  it("a one-click POST whose body is broken JSON, empty JSON or a stray content type still unsubscribes", async () => {
    const ctx = { publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET };
    const bodies: [string, string][] = [
      ["application/json", "{{{"],
      ["application/json", ""],
      ["application/x-www-form-urlencoded; charset=utf-16", "List-Unsubscribe=One-Click"],
    ];
    for (const [i, [type, payload]] of bodies.entries()) {
      const [s] = await rt.db.insert(subscribers).values({ email: `one-click-${i}@example.org`, status: "active", confirmedAt: new Date() }).returning();
      const res = await app.inject({
        method: "POST",
        url: `/unsubscribe/one-click?token=${tokenFor(ctx, s!, "unsubscribe")}`,
        headers: { "content-type": type },
        payload,
      });
      expect({ type, payload, status: res.statusCode }).toEqual({ type, payload, status: 200 });
      const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, s!.id));
      expect(after?.status).toBe("unsubscribed");
    }
  });
});
