import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import { feedbackToken, tokenFor } from "../../src/subscribers/links.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/**
 * Property-based: every route and method the app registers gets generated hostile
 * input (path params, query strings, headers, JSON, forms, multipart, NUL and other
 * control characters, lone surrogates, operator bombs, huge strings, deep nesting).
 * No answer may be a 5xx, and no row may appear in any table.
 */

const ADMIN = "admin-token-fuzz-0123456789abcdef";
const WEBHOOK = "webhook-token-fuzz-0123456789";
/** Generated cases per pass (a route and method, or one field of a valid request): ~130 passes in 10–20 s. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);

interface Route {
  method: string;
  url: string;
}

/**
 * The routes from fastify's own route tree (printRoutes without a common prefix): each
 * line is a path segment and its methods; a segment's path is its parents' joined.
 */
export function parseRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const m = /^((?:[│ ] {3})*)[└├]── (.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(m[2] ?? "");
    const url = stack.join("");
    for (const method of (m[3] ?? "").split(", ")) routes.push({ method, url });
  }
  return routes;
}

const POISON = ["\u0000", "\u0001", "\u0007", "\u000b", "\u001b", "\u007f", "\u0085", "\u202e", "\u2066", "\ud800", "\udfff"];

/** Strings no field accepts: each carries a forbidden character, an operator bomb, or more length than any field allows. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...POISON), fc.string({ maxLength: 12 })).map(([a, p, b]) => `${a}${p}${b}`),
  fc.integer({ min: 33, max: 300 }).map((n) => "-".repeat(n)),
  fc.integer({ min: 17, max: 60 }).map((n) => "-!".repeat(n) + "x"),
  // Past the caps: more than 8 operators, more than 16 words.
  fc.integer({ min: 10, max: 40 }).map((n) => Array.from({ length: n }, (_, i) => `w${i}`).join(" or ")),
  fc.integer({ min: 17, max: 60 }).map((n) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ")),
  fc.integer({ min: 1_000, max: 70_000 }).map((n) => "é".repeat(n)),
);

const hostileNumber = fc.constantFrom(-1, 0.5, 24.5, 1e308, -1e308, 2 ** 53 + 1);

/** Nested arrays and objects, deep enough to hurt a recursive walker. */
const deep = fc.integer({ min: 50, max: 2_000 }).map((n) => {
  let v: unknown = "\u0000";
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
});

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.array(hostileString, { minLength: 1, maxLength: 25 }) },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.constantFrom(null, [], {}, [[]], { __proto__: { admin: true } }) },
);

const FIELDS = [
  "email", "topics", "frequency", "weekday", "sendHour", "timezone", "maxPapers", "sendWhenEmpty", "paused",
  "token", "day", "source", "messageId", "type", "permanent", "date", "limit", "done", "List-Unsubscribe", "data", "name",
];
const hostileFields = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), hostileString), hostileValue, { minKeys: 1, maxKeys: 6 });

const flat = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v) ?? "");

interface Body {
  contentType?: string;
  payload?: string | Buffer;
}

const bodies: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({}),
  hostileFields.map((f) => ({ contentType: "application/json", payload: JSON.stringify(f) })),
  hostileValue.map((v) => ({ contentType: "application/json", payload: JSON.stringify(v) ?? "null" })),
  fc.constantFrom(
    '{"email": "a@b.c", "topics": ["x"',
    '{"a":'.repeat(9_000) + "1" + "}".repeat(9_000),
    "[".repeat(30_000) + "]".repeat(30_000),
    '{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}}',
    "\u0000",
    "",
  ).map((payload) => ({ contentType: "application/json", payload })),
  hostileFields.map((f) => ({
    contentType: "application/x-www-form-urlencoded",
    payload: new URLSearchParams(Object.entries(f).map(([k, v]): [string, string] => [k, flat(v)])).toString(),
  })),
  fc.constantFrom("%", "a=%ZZ&b=%00", "topics=%E0%A4%A&email=%C0%AF", "&&&==&", "a[b][c][d][e]=1&a[b][c][d][e]=2", "x".repeat(70_000)).map((payload) => ({
    contentType: "application/x-www-form-urlencoded",
    payload,
  })),
  fc.tuple(hostileFields, fc.boolean()).map(([f, truncate]) => {
    const b = "----fuzz";
    const parts = Object.entries(f).map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k.replace(/["\r\n]/g, "")}"\r\n\r\n${flat(v)}\r\n`);
    const full = `${parts.join("")}--${b}--\r\n`;
    return { contentType: `multipart/form-data; boundary=${b}`, payload: truncate ? full.slice(0, Math.floor(full.length / 2)) : full };
  }),
  fc.constantFrom("multipart/form-data", "text/plain", "application/octet-stream", "application/json; charset=utf-16", "image/png", "application/xml").chain((contentType) =>
    fc.uint8Array({ maxLength: 2_000 }).map((bytes) => ({ contentType, payload: Buffer.from(bytes) })),
  ),
);

/** Percent-encoding that sends a lone surrogate as the invalid UTF-8 bytes a hostile client would (ED A0 80). */
const enc = (s: string) => s.split(/[\uD800-\uDFFF]/).map(encodeURIComponent).join("%ED%A0%80");

type Shape = { type: "json" | "form" | "query"; fields: Record<string, unknown> };

/**
 * A valid request for the routes that take input, so a mutation of one or more of its
 * fields reaches past the others' validation (an all-hostile body stops at the first
 * field). Valid tokens never appear here: each would act. The subscriber these name
 * already exists with these topics, so even a request that slips through adds no row.
 */
function validShapes(manageToken: string): Record<string, Shape> {
  const prefs = { topics: ["diffusion models"], frequency: "weekly", weekday: 2, sendHour: 8, timezone: "Europe/Berlin", maxPapers: 10, sendWhenEmpty: false };
  // No sendWhenEmpty: a checkbox takes any value, so mutating it would leave a valid request.
  const formPrefs = { topics: "diffusion models", frequency: "weekly", weekday: "2", sendHour: "8", timezone: "Europe/Berlin", maxPapers: "10" };
  const forged = { token: "1.m.1.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
  return {
    "POST /api/subscriptions": { type: "json", fields: { email: "fuzz@example.org", ...prefs } },
    "POST /": { type: "form", fields: { email: "fuzz@example.org", ...formPrefs } },
    "PATCH /api/subscriptions/me": { type: "json", fields: { ...prefs, paused: false } },
    "POST /manage": { type: "form", fields: { token: manageToken, ...formPrefs } },
    "GET /api/preview": { type: "query", fields: { topics: "diffusion models", date: "2026-11-27", limit: "5" } },
    "POST /admin/actions/test-digest": { type: "form", fields: { email: "fuzz@example.org", topics: "diffusion models" } },
    "POST /admin/actions/ingest": { type: "form", fields: { day: "2026-11-27", source: "huggingface" } },
    "POST /webhooks/email-events": { type: "json", fields: { messageId: "<digest-987654@paperboy.test>", type: "bounce", permanent: true } },
    ...Object.fromEntries(["/confirm", "/unsubscribe", "/manage/pause", "/manage/resume", "/manage/unsubscribe", "/resubscribe"].map((u): [string, Shape] => [`POST ${u}`, { type: "form", fields: forged }])),
  };
}

/** A hostile value of the field's own type, so it passes the type check and meets the field's real rule. */
function hostileLike(valid: unknown, type: Shape["type"]): fc.Arbitrary<unknown> {
  if (type !== "json") {
    // Forms and query strings carry strings; a textarea may hold several lines, one of them hostile.
    // A lone surrogate cannot travel in UTF-8: it arrives as U+FFFD, a harmless character, so it is no poison here.
    const sendable = hostileString.filter((h) => !/[\uD800-\uDFFF]/.test(h));
    return fc.oneof(sendable, fc.tuple(sendable, fc.constantFrom("", "diffusion models\n", "a\r\n")).map(([h, v]) => `${v}${h}`));
  }
  if (Array.isArray(valid)) {
    const items = valid as unknown[];
    return fc.oneof(fc.array(hostileString, { minLength: 1, maxLength: 3 }).map((xs): unknown[] => [...items, ...xs]), hostileValue);
  }
  if (typeof valid === "string") return fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: hostileValue });
  return hostileValue;
}

/** The valid shape with one field (`key`) made hostile. */
function mutated(shape: Shape, key: string): fc.Arbitrary<Record<string, unknown>> {
  return hostileLike(shape.fields[key], shape.type).map((v) => ({ ...shape.fields, [key]: shape.type === "json" ? v : flat(v) }));
}

function encodeBody(shape: Shape, fields: Record<string, unknown>): Body {
  if (shape.type === "json") return { contentType: "application/json", payload: JSON.stringify(fields) };
  return { contentType: "application/x-www-form-urlencoded", payload: queryString(Object.entries(fields)) };
}

function queryString(entries: [string, unknown][]): string {
  return entries.map(([k, v]) => `${enc(k)}=${enc(flat(v))}`).join("&");
}

/**
 * Requests whose every field but one is valid, for the routes a reader's feedback and
 * search reach and the email-events webhook: the hostile field must be the one the
 * answer names (a JSON error's `field`, or a page's words for it), with a 4xx.
 */
interface NamedShape extends Shape {
  /** Headers the valid request carries (the webhook's bearer token). */
  headers?: Record<string, string>;
  /** How an HTML answer names each field, for the person reading it. */
  words: Record<string, RegExp>;
}

function namedShapes(t: { feedback: string; manage: string; paper: string }): Record<string, NamedShape> {
  // A token is a link to the person who holds it: its page says the link does not work.
  const token = /\blink\b|\btoken\b/i;
  return {
    "GET /feedback": { type: "query", fields: { token: t.feedback }, words: { token } },
    "POST /feedback": { type: "form", fields: { token: t.feedback }, words: { token } },
    "POST /feedback/undo": { type: "form", fields: { token: t.feedback }, words: { token } },
    "POST /manage/topics/add": { type: "form", fields: { token: t.manage, topic: "test-time compute" }, words: { token, topic: /\btopic\b/i } },
    "POST /manage/votes/undo": { type: "form", fields: { token: t.manage, paper: t.paper }, words: { token, paper: /\bpaper\b/i } },
    "GET /search": { type: "query", fields: { q: "diffusion models" }, words: { q: /\bsearch\b/i } },
    "POST /webhooks/email-events": {
      type: "json",
      fields: { messageId: "<digest-987654@paperboy.test>", type: "bounce", permanent: true },
      headers: { authorization: `Bearer ${WEBHOOK}` },
      words: {},
    },
  };
}

/**
 * A value no field of that kind accepts: a control character, a lone surrogate or more
 * length than any field allows, and in JSON also the wrong type. (Operator bombs and
 * long dashes are hostile only to topics; a Message-ID may hold them.)
 */
function invalidFor(valid: unknown, type: Shape["type"]): fc.Arbitrary<unknown> {
  const poisoned = fc
    // Text-direction controls are refused in topics and searches only (a name may need them).
    .tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...POISON.filter((p) => !/[\u202A-\u202E\u2066-\u2069]/.test(p))), fc.string({ maxLength: 12 }))
    // Inside the value: at its edges a space-like control is trimmed off, as typing would.
    .map(([a, p, b]) => `x${a}${p}${b}y`)
    // A lone surrogate cannot travel in a form or query: it arrives as U+FFFD.
    .filter((v) => type === "json" || !/[\uD800-\uDFFF]/.test(v));
  // Longer than any field (and than a search, 1,000), short of the body limit, which a 413 names instead.
  const text = fc.oneof(poisoned, fc.integer({ min: 1_001, max: 1_500 }).map((n) => "é".repeat(n)));
  if (type !== "json") return text;
  const wrongType = typeof valid === "boolean" ? fc.oneof(text, fc.constantFrom(0, "yes", [], {})) : fc.oneof(text, hostileNumber, fc.constantFrom(null, [], {}, [["x"]], true));
  return wrongType;
}

const rawQueries = fc.constantFrom("%", "token=%ZZ", "topics[a][b][c]=1", "date=0000-01-01", "date=2026-02-30", "limit=1e999", "done=__proto__", "token", "&&&", "a=%00");

describe("every route, generated hostile input", () => {
  let rt: TestRuntime;
  let app: App;
  let routes: Route[];
  const tokens: Record<string, string> = {};
  let paperId = "";

  async function rowCounts(): Promise<Record<string, number>> {
    const { rows: tables } = await rt.pool.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'public' order by 1");
    const counts: Record<string, number> = {};
    for (const { t } of tables) {
      const { rows } = await rt.pool.query<{ n: number }>(`select count(*)::int as n from "${t}"`);
      counts[t] = rows[0]?.n ?? 0;
    }
    return counts;
  }

  beforeAll(async () => {
    rt = await createTestRuntime({ ADMIN_TOKEN: ADMIN, WEBHOOK_TOKEN: WEBHOOK, SIGNUP_RATE_LIMIT_PER_IP: "1000000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000000", LOG_LEVEL: "silent" });
    app = await rt.app();
    routes = parseRoutes(app.printRoutes({ commonPrefix: false })).filter((r) => r.method !== "HEAD");
    const [s] = await rt.db.insert(subscribers).values({ email: "fuzz@example.org", status: "active", confirmedAt: new Date() }).returning();
    const ctx = { publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET };
    for (const purpose of ["manage", "unsubscribe", "confirm", "view"] as const) tokens[purpose] = tokenFor(ctx, s!, purpose);
    const { rows: paper } = await rt.pool.query<{ id: string }>(
      `insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url) values ('2511.99999', 'Fuzzing feedback', 'A paper to vote on.', '2026-11-27', 'https://arxiv.org/abs/2511.99999', 'https://arxiv.org/pdf/2511.99999') returning id`,
    );
    paperId = paper[0]!.id;
    tokens.feedback = feedbackToken(ctx, s!, Number(paperId), 1);
    await rt.pool.query("insert into topics (query) values ('diffusion models')");
    await rt.pool.query("insert into subscriber_topics (subscriber_id, topic_id, label) select $1, id, 'diffusion models' from topics", [s!.id]);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("finds every route the app registers", () => {
    const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const known of ["POST /api/subscriptions", "PATCH /api/subscriptions/me", "POST /unsubscribe/one-click", "GET /api/preview", "POST /admin/actions/test-digest", "POST /admin/queues/api/queues/:queueName/add", "POST /webhooks/email-events", "GET /digests/:id"]) {
      expect(urls).toContain(known);
    }
    expect(routes.length).toBeGreaterThan(60);
  });

  it("answers no generated request to any route with a 5xx, and stores nothing", async () => {
    const before = await rowCounts();
    const failures: string[] = [];
    const shapes = validShapes(tokens.manage ?? "");
    for (const route of routes) {
      // Valid tokens only where they cannot change anything by themselves (reads and a hostile PATCH).
      const safeWithToken = route.method === "GET" || route.method === "PATCH";
      const auth = fc.constantFrom(
        undefined,
        `Bearer ${ADMIN}`,
        `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}`,
        `Bearer ${WEBHOOK}`,
        "Bearer x",
        "Basic %%%",
        ...(safeWithToken ? [`Bearer ${tokens.manage}`] : []),
      );
      const queryEntries = fc.array(
        fc.tuple(fc.oneof(fc.constantFrom("token", "topics", "date", "limit", "done", "id"), hostileString), safeWithToken ? fc.oneof(hostileValue, fc.constantFrom(...Object.values(tokens))) : hostileValue),
        { maxLength: 4 },
      );
      const query = fc.oneof(queryEntries.map(queryString), rawQueries);
      const params = fc.array(fc.oneof(hostileString, fc.constantFrom("0", "-1", "1e400", "9".repeat(400), "..%2f..%2fetc%2fpasswd", "send", "%00")), { minLength: 3, maxLength: 3 });
      const headers = fc.record({
        authorization: auth,
        origin: fc.constantFrom(undefined, rt.config.PUBLIC_URL, "null", "https://evil.example"),
        "x-forwarded-for": fc.constantFrom(undefined, "1.2.3.4, 5.6.7.8", "not-an-ip", "::ffff:999.1.1.1"),
        accept: fc.constantFrom(undefined, "text/html", "application/json", "*/*"),
        "accept-language": fc.constantFrom(undefined, "é".repeat(2_000)),
      });

      const shape = shapes[`${route.method} ${route.url}`];
      // The generic pass, then one pass per field of a valid request with that field made hostile.
      const passes: { query: fc.Arbitrary<string>; bodies: fc.Arbitrary<Body> }[] = [{ query, bodies }];
      for (const key of Object.keys(shape?.fields ?? {})) {
        if (!shape) break;
        const one = mutated(shape, key);
        passes.push(
          shape.type === "query"
            ? { query: one.map((f) => queryString(Object.entries(f))), bodies: fc.constant({}) }
            : { query: fc.constant(""), bodies: one.map((f) => encodeBody(shape, f)) },
        );
      }
      for (const pass of passes) await fc.assert(
        fc.asyncProperty(params, pass.query, headers, pass.bodies, fc.ipV4(), async (p, q, h, body, remoteAddress) => {
          let i = 0;
          const path = route.url.replace(/:[A-Za-z]+|\*/g, () => enc(p[i++ % p.length] ?? "x"));
          const url = q ? `${path}?${q}` : path;
          const hdrs: Record<string, string> = {};
          for (const [k, v] of Object.entries(h)) if (v !== undefined) hdrs[k] = v;
          if (body.contentType) hdrs["content-type"] = body.contentType;
          const res = await app.inject({ method: route.method as "GET", url, headers: hdrs, remoteAddress, ...(body.payload !== undefined && route.method !== "GET" ? { payload: body.payload } : {}) });
          if (res.statusCode >= 500) {
            failures.push(`${route.method} ${url.slice(0, 200)} [${body.contentType ?? "-"}] ${String(body.payload ?? "").slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
            return false;
          }
          return true;
        }),
        { numRuns: RUNS, endOnFailure: true },
      ).catch((err: unknown) => {
        if (failures.length === 0) throw err;
      });
    }
    expect(failures).toEqual([]);
    expect(await rowCounts()).toEqual(before);
  }, 120_000);

  it("answers a valid feedback, search or webhook request with one field made invalid with a 4xx that names that field, and stores nothing", async () => {
    const before = await rowCounts();
    const failures: string[] = [];
    const shapes = namedShapes({ feedback: tokens.feedback ?? "", manage: tokens.manage ?? "", paper: paperId });
    for (const [route, shape] of Object.entries(shapes)) {
      const [method, path] = route.split(" ") as [string, string];
      for (const key of Object.keys(shape.fields)) {
        const fields = invalidFor(shape.fields[key], shape.type).map((v) => ({ ...shape.fields, [key]: shape.type === "json" ? v : flat(v) }));
        await fc.assert(
          fc.asyncProperty(fields, async (f) => {
            const body = shape.type === "query" ? {} : encodeBody(shape, f);
            const url = shape.type === "query" ? `${path}?${queryString(Object.entries(f))}` : path;
            const headers: Record<string, string> = { accept: "text/html", ...shape.headers };
            if (body.contentType) headers["content-type"] = body.contentType;
            const res = await app.inject({ method: method as "GET", url, headers, ...(body.payload !== undefined ? { payload: body.payload } : {}) });
            const json = String(res.headers["content-type"] ?? "").includes("application/json");
            const named = json
              ? (() => {
                  const field = res.json<{ error?: { field?: string } }>().error?.field ?? "";
                  return field === key || field.startsWith(`${key}.`);
                })()
              : (shape.words[key]?.test(res.body.replace(/<[^>]*>/g, " ")) ?? false);
            if (res.statusCode < 400 || res.statusCode >= 500 || !named) {
              failures.push(`${route} ${key}=${flat(f[key]).slice(0, 80)} → ${res.statusCode} ${res.body.replace(/\s+/g, " ").slice(0, 300)}`);
              return false;
            }
            return true;
          }),
          { numRuns: RUNS * 2, endOnFailure: true },
        ).catch((err: unknown) => {
          if (failures.length === 0) throw err;
        });
      }
    }
    expect(failures).toEqual([]);
    expect(await rowCounts()).toEqual(before);
  }, 120_000);
});
