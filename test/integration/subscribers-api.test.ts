import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import type { Workers } from "../../src/jobs/workers.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { createSignupRecorder } from "../../src/subscribers/pending-signups.js";
import { signupSchema } from "../../src/subscribers/preferences.js";
import { signToken } from "../../src/subscribers/tokens.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime;
let app: App;
let mailWorker: Workers;
let ipCounter = 0;
/** Each request from its own address, so only the rate-limit tests meet the per-IP limit. */
const freshIp = () => `10.1.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

const valid = { email: "reader@example.org", topics: ["diffusion models"] };

async function signup(payload: unknown, remoteAddress = freshIp()) {
  return app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress, payload: payload as Record<string, unknown> });
}

async function count(): Promise<number> {
  const { rows } = await rt.pool.query<{ n: number }>("select count(*)::int as n from subscribers");
  return rows[0]?.n ?? 0;
}

async function insertSubscriber(email: string, status: "pending" | "active" | "unsubscribed", extra: Partial<typeof subscribers.$inferInsert> = {}) {
  const [row] = await rt.db
    .insert(subscribers)
    .values({ email, status, confirmedAt: status === "pending" ? null : new Date(), ...extra })
    .returning();
  return row!;
}

const ctx = () => ({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET });

beforeAll(async () => {
  rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "5", SIGNUP_RATE_LIMIT_PER_ADDRESS: "6" });
  app = await rt.app();
  mailWorker = await startMailWorker(rt);
});
afterAll(async () => {
  await mailWorker?.close();
  await rt?.close();
});

describe("POST /api/subscriptions validation", () => {
  const cases: [string, unknown, string][] = [
    ["a bad email", { ...valid, email: "not-an-email" }, "email"],
    ["a missing email", { topics: ["llm"] }, "email"],
    ["21 topics", { ...valid, topics: Array.from({ length: 21 }, (_, i) => `topic ${i}`) }, "topics"],
    ["a 101-character topic", { ...valid, topics: ["ok topic", "x".repeat(101)] }, "topics.1"],
    ["a 1-character topic after trimming", { ...valid, topics: ["  x  "] }, "topics.0"],
    ["a topic of stop words only", { ...valid, topics: ["diffusion", "the and of"] }, "topics.1"],
    ["an unknown time zone", { ...valid, timezone: "Mars/Olympus_Mons" }, "timezone"],
    ["send hour 24", { ...valid, sendHour: 24 }, "sendHour"],
    ["papers 0", { ...valid, maxPapers: 0 }, "maxPapers"],
    ["papers 51", { ...valid, maxPapers: 51 }, "maxPapers"],
    ["weekday 8", { ...valid, frequency: "weekly", weekday: 8 }, "weekday"],
    ["an unknown frequency", { ...valid, frequency: "hourly" }, "frequency"],
    ["an extra field", { ...valid, admin: true }, "admin"],
    ["a string send hour", { ...valid, sendHour: "8" }, "sendHour"],
    ["topics as a string", { ...valid, topics: "llm" }, "topics"],
    ["a numeric topic", { ...valid, topics: [42] }, "topics.0"],
    ["a string for send-when-empty", { ...valid, sendWhenEmpty: "yes" }, "sendWhenEmpty"],
    ["a string for add-trending", { ...valid, addTrending: "yes" }, "addTrending"],
  ];
  it.each(cases)("refuses %s naming the field and stores nothing", async (_name, payload, field) => {
    const res = await signup(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "VALIDATION", field } });
    expect(await count()).toBe(0);
  });

  it("refuses a 1 MB body naming the body and stores nothing", async () => {
    const res = await signup({ ...valid, topics: ["a".repeat(1024 * 1024)] });
    expect([400, 413]).toContain(res.statusCode);
    expect(res.json()).toMatchObject({ error: { field: "body" } });
    expect(await count()).toBe(0);
  });

  it("refuses malformed JSON as a bad body", async () => {
    const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: freshIp(), headers: { "content-type": "application/json" }, payload: "{\"email\":" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "VALIDATION", field: "body" } });
  });

  it("accepts no topics (a trending subscription), with topics absent or empty, and stores 'also add trending'", async () => {
    expect((await signup({ email: "absent@example.org" })).statusCode).toBe(202);
    expect((await signup({ email: "empty@example.org", topics: [] })).statusCode).toBe(202);
    expect((await signup({ email: "mixed@example.org", topics: ["speech"], addTrending: true })).statusCode).toBe(202);
    const rows = await rt.db.select({ email: subscribers.email, addTrending: subscribers.addTrending }).from(subscribers);
    expect(Object.fromEntries(rows.map((r) => [r.email, r.addTrending]))).toEqual({ "absent@example.org": false, "empty@example.org": false, "mixed@example.org": true });
    await rt.db.delete(subscribers);
  });

  it("names the first unsearchable topic when the others were accepted before, and stores nothing for it", async () => {
    expect((await signup({ email: "first@example.org", topics: ["Diffusion models", "mamba"] })).statusCode).toBe(202);
    const res = await signup({ email: "second@example.org", topics: ["mamba", "diffusion  MODELS", "the and of", "of the"] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "VALIDATION", field: "topics.2" } });
    const rows = await rt.db.select({ email: subscribers.email }).from(subscribers);
    expect(rows.map((r) => r.email)).toEqual(["first@example.org"]);
    await rt.db.delete(subscribers);
  });

  it("records signups that arrive together each for itself: a bad topic refuses only its own, a repeated address counts twice", async () => {
    const record = createSignupRecorder(rt.pool);
    const input = (email: string, topics: string[]) => signupSchema.parse({ email, topics });
    const consent = { at: new Date(), ip: "10.9.9.9", userAgent: null };
    const results = await Promise.allSettled([
      record(input("one@example.org", ["diffusion models"]), consent),
      record(input("two@example.org", ["mamba", "the and of"]), consent),
      record(input("One@Example.org", ["speech"]), consent),
      record(input("three@example.org", []), consent),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "VALIDATION", field: "topics.1" });
    const [one, , again, three] = results.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    // The repeated address is one subscriber counted twice (which of the two came first is not defined).
    expect(again?.subscriberId).toBe(one?.subscriberId);
    expect([one?.version, again?.version].sort()).toEqual([1, 2]);
    const rows = await rt.db.select({ email: subscribers.email, version: subscribers.signupVersion }).from(subscribers).orderBy(subscribers.id);
    expect(rows.map((r) => ({ ...r, email: r.email?.toLowerCase() }))).toEqual([
      { email: "one@example.org", version: 2 },
      { email: "three@example.org", version: 1 },
    ]);
    const { rows: pending } = await rt.pool.query<{ subscriber_id: string; version: number; topics: string[] }>(
      "select subscriber_id, version, topics from pending_signups",
    );
    expect(new Set(pending.map((p) => `${p.subscriber_id} v${p.version} ${JSON.stringify(p.topics)}`))).toEqual(
      new Set([
        `${one?.subscriberId} v${one?.version} ["diffusion models"]`,
        `${one?.subscriberId} v${again?.version} ["speech"]`,
        `${three?.subscriberId} v1 []`,
      ]),
    );
    await rt.db.delete(subscribers);
  });

  it("two statements with the same addresses in opposite orders (a repeated address, or two API processes) wait for each other instead of deadlocking", async () => {
    const record = createSignupRecorder(rt.pool);
    const consent = { at: new Date(), ip: "10.9.9.9", userAgent: null };
    const input = (email: string) => signupSchema.parse({ email });
    await rt.db.insert(subscribers).values({ email: "middle@example.org", status: "active", confirmedAt: new Date() });
    // Another transaction holds the shared middle row, so each statement has taken its first row when it reaches it.
    const holder = await rt.pool.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from subscribers where email = 'middle@example.org' for update");
      // One turn: the first three share a statement, the repeats (other order) go in a second one.
      const settled = Promise.allSettled(
        ["alpha@example.org", "middle@example.org", "omega@example.org", "OMEGA@example.org", "Middle@example.org", "ALPHA@example.org"].map((e) => record(input(e), consent)),
      );
      for (let i = 0; i < 200; i++) {
        // Not on the holder: inside a transaction pg_stat_activity is the snapshot of its first read.
        const { rows } = await rt.pool.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where query like '%paperboy: record signups%' and wait_event_type = 'Lock'",
        );
        if (rows[0]?.n === 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await holder.query("commit");
      const results = await settled;
      expect(results.map((r) => (r.status === "rejected" ? String((r.reason as Error).message) : r.status))).toEqual(Array(6).fill("fulfilled"));
    } finally {
      holder.release();
    }
    // Either statement may reach Postgres first, so an address is stored in either spelling.
    const rows = (await rt.db.select({ email: subscribers.email, version: subscribers.signupVersion }).from(subscribers))
      .map((r) => ({ email: r.email?.toLowerCase(), version: r.version }))
      .sort((a, b) => String(a.email).localeCompare(String(b.email)));
    expect(rows).toEqual([
      { email: "alpha@example.org", version: 2 },
      { email: "middle@example.org", version: 3 },
      { email: "omega@example.org", version: 2 },
    ]);
    await rt.db.delete(subscribers);
  });

  it("accepts a time zone alias Postgres knows", async () => {
    const res = await signup({ email: "alias@example.org", topics: ["speech"], timezone: "Asia/Calcutta" });
    expect(res.statusCode).toBe(202);
    const [row] = await rt.db.select().from(subscribers).where(eq(subscribers.email, "alias@example.org"));
    expect(row?.timezone).toBe("Asia/Calcutta");
    // Its confirmation is sent by the worker; let it arrive before the next test counts mail.
    await expect.poll(() => rt.sink.messages.some((m) => m.envelope.to[0] === "alias@example.org")).toBe(true);
    await rt.db.delete(subscribers);
  });
});

describe("no enumeration", () => {
  it("answers new, pending, active and unsubscribed addresses identically, and mails each what fits", async () => {
    await insertSubscriber("pending@example.org", "pending");
    await insertSubscriber("active@example.org", "active");
    await insertSubscriber("left@example.org", "unsubscribed");
    const before = rt.sink.messages.length;
    const answers = [];
    for (const email of ["new@example.org", "pending@example.org", "active@example.org", "left@example.org"]) {
      const res = await signup({ email, topics: ["graph neural networks"] });
      answers.push({ status: res.statusCode, body: res.body, type: res.headers["content-type"] });
    }
    expect(answers[0]?.status).toBe(202);
    for (const a of answers) expect(a).toEqual(answers[0]);

    const mails = (await rt.sink.waitFor(before + 4)).slice(before);
    const byRecipient = Object.fromEntries(mails.map((m): [string, string | undefined] => [m.envelope.to[0] ?? "", m.parsed.subject]));
    expect(byRecipient).toEqual({
      "new@example.org": "Confirm your paperboy subscription",
      "pending@example.org": "Confirm your paperboy subscription",
      "active@example.org": "You are already subscribed to paperboy",
      "left@example.org": "Confirm your paperboy subscription",
    });
    const already = mails.find((m) => m.envelope.to[0] === "active@example.org");
    expect(already?.parsed.text).toMatch(/http:\/\/paperboy\.test\/manage\?token=/);
    const rows = await rt.db.select({ email: subscribers.email, status: subscribers.status }).from(subscribers);
    expect(Object.fromEntries(rows.map((r) => [r.email, r.status]))).toMatchObject({
      "new@example.org": "pending",
      "pending@example.org": "pending",
      "active@example.org": "active",
      "left@example.org": "pending",
    });
  });

  it("sends at most 3 confirmation emails per address per hour, silently", async () => {
    const before = rt.sink.messages.length;
    for (let i = 0; i < 5; i++) expect((await signup({ email: "again@example.org", topics: ["robotics"] })).statusCode).toBe(202);
    await rt.sink.waitFor(before + 3);
    // One more signup to a different address proves the sink is still receiving after the capped ones.
    await signup({ email: "other@example.org", topics: ["robotics"] });
    const after = await rt.sink.waitFor(before + 4);
    expect(after.slice(before).filter((m) => m.envelope.to[0] === "again@example.org")).toHaveLength(3);
  });
});

describe("rate limits", () => {
  it("answers 429 after too many signups from one IP", async () => {
    const ip = "192.0.2.200";
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await signup({ email: `ip${i}@example.org`, topics: ["vision"] }, ip)).statusCode);
    expect(codes).toEqual([202, 202, 202, 202, 202, 429]);
    const res = await signup({ email: "ip-late@example.org", topics: ["vision"] }, ip);
    expect(res.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(res.headers["retry-after"]).toBeDefined();
  });

  it("answers 429 after too many signups for one address from many IPs", async () => {
    const codes = [];
    for (let i = 0; i < 7; i++) codes.push((await signup({ email: "Target@Example.org", topics: ["vision"] })).statusCode);
    expect(codes).toEqual([202, 202, 202, 202, 202, 202, 429]);
    // The limit follows the address however it is cased.
    expect((await signup({ email: "target@example.org", topics: ["vision"] })).statusCode).toBe(429);
  });

  it("shows a page, not JSON, when the form is rate limited", async () => {
    const ip = "192.0.2.201";
    let last;
    for (let i = 0; i < 6; i++) {
      last = await app.inject({ method: "POST", url: "/", remoteAddress: ip, payload: { email: `form${i}@example.org`, topics: "vision" } });
    }
    expect(last?.statusCode).toBe(429);
    expect(last?.headers["content-type"]).toMatch(/text\/html/);
  });
});

describe("tokens", () => {
  it("refuses forged, truncated, other-purpose, revoked and garbage manage tokens with 403", async () => {
    const s = await insertSubscriber("tokens@example.org", "active");
    const good = tokenFor(ctx(), s, "manage");
    expect((await app.inject({ method: "GET", url: `/api/subscriptions/me?token=${good}` })).statusCode).toBe(200);

    const lastChar = good.at(-1) === "A" ? "B" : "A";
    const forgedSig = good.slice(0, -1) + lastChar;
    const otherId = good.replace(/^[0-9]+/, String(s.id + 1000));
    const truncated = good.slice(0, good.length - 10);
    const unsubscribeToken = tokenFor(ctx(), s, "unsubscribe");
    const otherSecret = signToken("another-secret-another-secret-another", { subscriberId: s.id, purpose: "manage", version: s.tokenVersion });
    for (const bad of [forgedSig, otherId, truncated, unsubscribeToken, otherSecret, "x", "1.m.1.0.", "a".repeat(500)]) {
      const res = await app.inject({ method: "GET", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${bad}` } });
      expect(res.statusCode, bad).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: "INVALID_TOKEN" } });
    }
    const none = await app.inject({ method: "GET", url: "/api/subscriptions/me" });
    expect(none.statusCode).toBe(403);

    await rt.db.update(subscribers).set({ tokenVersion: sql`${subscribers.tokenVersion} + 1` }).where(eq(subscribers.id, s.id));
    const revoked = await app.inject({ method: "GET", url: `/api/subscriptions/me?token=${good}` });
    expect(revoked.statusCode).toBe(403);
    const revokedOneClick = await app.inject({ method: "POST", url: `/unsubscribe/one-click?token=${tokenFor(ctx(), s, "unsubscribe")}`, headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "List-Unsubscribe=One-Click" });
    expect(revokedOneClick.statusCode).toBe(403);
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, s.id));
    expect(after?.status).toBe("active");
  });

  it("shows a friendly page for bad, expired and other-purpose links, never a 500", async () => {
    const s = await insertSubscriber("pages@example.org", "pending");
    const expired = signToken(rt.config.TOKEN_SECRET, { subscriberId: s.id, purpose: "confirm", version: 1, expiresAt: new Date(Date.now() - 1000) });
    const manage = tokenFor(ctx(), s, "manage");
    const requests = [
      { method: "GET" as const, url: `/confirm?token=${expired}` },
      { method: "GET" as const, url: `/confirm?token=${manage}` },
      { method: "GET" as const, url: "/confirm" },
      { method: "GET" as const, url: "/manage?token=garbage" },
      { method: "GET" as const, url: `/unsubscribe?token=${manage}` },
      { method: "POST" as const, url: "/confirm", payload: { token: expired } },
      { method: "POST" as const, url: "/confirm", payload: {} },
      { method: "POST" as const, url: "/unsubscribe", payload: { token: "1.u.1.0.AAAA" } },
    ];
    for (const r of requests) {
      const res = await app.inject(r);
      expect(res.statusCode, r.url).toBe(403);
      expect(res.headers["content-type"]).toMatch(/text\/html/);
      expect(res.body).toContain("This link doesn");
    }
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, s.id));
    expect(after?.status).toBe("pending");
  });

  it("confirm links stop working once the subscriber unsubscribed", async () => {
    const s = await insertSubscriber("late@example.org", "unsubscribed", { confirmedAt: null });
    const res = await app.inject({ method: "POST", url: "/confirm", payload: { token: tokenFor(ctx(), s, "confirm") } });
    expect(res.statusCode).toBe(403);
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, s.id));
    expect(after?.status).toBe("unsubscribed");
  });
});

describe("PATCH /api/subscriptions/me", () => {
  it("refuses bad fields naming them and changes nothing", async () => {
    const s = await insertSubscriber("patch@example.org", "active", { sendHour: 9 });
    const auth = { authorization: `Bearer ${tokenFor(ctx(), s, "manage")}` };
    for (const [payload, field] of [
      [{ sendHour: 24 }, "sendHour"],
      [{ timezone: "Nowhere/Land", sendHour: 5 }, "timezone"],
      [{ topics: ["fine topic", "a"], sendHour: 5 }, "topics.1"],
      [{ topics: ["the"], sendHour: 5 }, "topics.0"],
      [{ status: "active" }, "status"],
      [{ paused: "yes" }, "paused"],
    ] as const) {
      const res = await app.inject({ method: "PATCH", url: "/api/subscriptions/me", headers: auth, payload });
      expect(res.statusCode, field).toBe(400);
      expect(res.json()).toMatchObject({ error: { field } });
    }
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, s.id));
    expect(after?.sendHour).toBe(9);
    expect(after?.timezone).toBe("UTC");
  });

  it("pauses and resumes, and reports what changed", async () => {
    const s = await insertSubscriber("pause@example.org", "active");
    const auth = { authorization: `Bearer ${tokenFor(ctx(), s, "manage")}` };
    const paused = await app.inject({ method: "PATCH", url: "/api/subscriptions/me", headers: auth, payload: { paused: true, sendWhenEmpty: true, weekday: 7, frequency: "weekly" } });
    expect(paused.json()).toMatchObject({ preferences: { paused: true, status: "active", sendWhenEmpty: true, weekday: 7, frequency: "weekly" }, changed: ["frequency", "weekday", "sendWhenEmpty", "paused"] });
    const same = await app.inject({ method: "PATCH", url: "/api/subscriptions/me", headers: auth, payload: { paused: true } });
    expect(same.json()).toMatchObject({ changed: [] });
    const resumed = await app.inject({ method: "PATCH", url: "/api/subscriptions/me", headers: auth, payload: { paused: false } });
    expect(resumed.json()).toMatchObject({ preferences: { paused: false }, changed: ["paused"] });
  });

  it("exports consent, topics and digests sent", async () => {
    const s = await insertSubscriber("export@example.org", "active", { consentIp: "192.0.2.5", consentAt: new Date("2026-11-01T10:00:00Z") });
    await rt.pool.query("insert into digests (subscriber_id, period, status, covers_to, paper_count, sent_at) values ($1, '2026-11-20', 'sent', now(), 7, now())", [s.id]);
    const res = await app.inject({ method: "GET", url: `/api/subscriptions/me?token=${tokenFor(ctx(), s, "manage")}` });
    expect(res.json()).toMatchObject({
      preferences: { email: "export@example.org", status: "active" },
      consent: { ip: "192.0.2.5", signedUpAt: "2026-11-01T10:00:00.000Z" },
      digests: [{ period: "2026-11-20", status: "sent", paperCount: 7 }],
    });
  });
});
