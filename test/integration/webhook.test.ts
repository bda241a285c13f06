import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const TOKEN = "webhook-token-0123456789";

describe("POST /webhooks/email-events", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ WEBHOOK_TOKEN: TOKEN, MAIL_DOMAIN: "paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const post = async (body: unknown, auth: string | null = `Bearer ${TOKEN}`) => {
    const app = await rt.app();
    return app.inject({ method: "POST", url: "/webhooks/email-events", payload: body as object, headers: auth ? { authorization: auth } : {} });
  };
  const subscriber = async (id: number) =>
    (await rt.pool.query<{ status: string; bounce_count: number }>("select status, bounce_count from subscribers where id = $1", [id])).rows[0];

  it("refuses a missing or wrong token with 401 and changes nothing", async () => {
    const { subscriberId } = await seedOne(rt.pool, { email: "keep@example.org" });
    for (const auth of [null, "Bearer wrong-token-wrong-token", `Basic ${TOKEN}`]) {
      const res = await post({ email: "keep@example.org", type: "complaint" }, auth);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    }
    expect(await subscriber(subscriberId)).toEqual({ status: "active", bounce_count: 0 });
  });

  it("a complaint by Message-ID records the event and marks the subscriber complained", async () => {
    const { subscriberId, digestId } = await seedOne(rt.pool);
    const res = await post({ messageId: `<digest-${digestId}@paperboy.test>`, type: "complaint" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ matched: true, subscriberStatus: "complained" });
    expect((await subscriber(subscriberId))?.status).toBe("complained");
    const ev = await rt.pool.query("select type, permanent, source, digest_id from email_events where subscriber_id = $1", [subscriberId]);
    expect(ev.rows).toEqual([{ type: "complaint", permanent: true, source: "webhook", digest_id: digestId }]);
  });

  it("a permanent bounce by address marks the subscriber bounced; a temporary one is only recorded", async () => {
    const a = await seedOne(rt.pool, { email: "Hard@Example.org" });
    const b = await seedOne(rt.pool, { email: "soft@example.org" });
    expect((await post({ email: "hard@example.org", type: "bounce", permanent: true })).json()).toEqual({ matched: true, subscriberStatus: "bounced" });
    expect(await subscriber(a.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
    expect((await post({ email: "soft@example.org", type: "bounce", permanent: false })).json()).toEqual({ matched: true, subscriberStatus: "active" });
    expect(await subscriber(b.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    const ev = await rt.pool.query("select count(*)::int as n from email_events where subscriber_id = $1", [b.subscriberId]);
    expect(ev.rows[0]).toEqual({ n: 1 });
  });

  it("answers unknown recipients with matched:false and bad bodies with 400 naming the field", async () => {
    expect((await post({ email: "nobody@example.org", type: "bounce" })).json()).toEqual({ matched: false });
    expect((await post({ messageId: "<other@elsewhere.test>", type: "bounce" })).json()).toEqual({ matched: false });
    const none = await post({ type: "bounce" });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ error: { code: "VALIDATION", field: "messageId" } });
    const badType = await post({ email: "x@example.org", type: "delivered" });
    expect(badType.statusCode).toBe(400);
    expect(badType.json()).toMatchObject({ error: { field: "type" } });
  });
});

describe("webhook with BOUNCE_LIMIT=2", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ WEBHOOK_TOKEN: TOKEN, BOUNCE_LIMIT: "2" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("suppresses an address at its second reported hard bounce, as a 5xx at send time would", async () => {
    const { subscriberId } = await seedOne(rt.pool, { email: "twice@example.org" });
    const app = await rt.app();
    const bounce = () =>
      app.inject({
        method: "POST",
        url: "/webhooks/email-events",
        payload: { email: "twice@example.org", type: "bounce", permanent: true },
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    expect((await bounce()).json()).toEqual({ matched: true, subscriberStatus: "active" });
    expect((await bounce()).json()).toEqual({ matched: true, subscriberStatus: "bounced" });
    const row = await rt.pool.query("select status, bounce_count from subscribers where id = $1", [subscriberId]);
    expect(row.rows[0]).toEqual({ status: "bounced", bounce_count: 2 });
  });
});

describe("webhook without WEBHOOK_TOKEN", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("is off with a clear 404", async () => {
    const app = await rt.app();
    const res = await app.inject({ method: "POST", url: "/webhooks/email-events", payload: { email: "a@example.org", type: "bounce" }, headers: { authorization: "Bearer anything-anything" } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "WEBHOOK_DISABLED", message: "The email-events webhook is off: set WEBHOOK_TOKEN to turn it on." } });
  });
});
