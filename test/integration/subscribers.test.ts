import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailEvents, subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import type { Workers } from "../../src/jobs/workers.js";
import { links } from "../../src/subscribers/links.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** The path a person takes: signup → email → confirm → manage → one-click unsubscribe. */
describe("subscribers: double opt-in to one-click unsubscribe", () => {
  let rt: TestRuntime;
  let app: App;
  let mailWorker: Workers;
  beforeAll(async () => {
    rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "1000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000" });
    app = await rt.app();
    mailWorker = await startMailWorker(rt);
  });
  afterAll(async () => {
    await mailWorker?.close();
    await rt?.close();
  });

  const pathOf = (url: string) => {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  };

  it("signs up, confirms from the emailed link, edits topics and unsubscribes with one click", async () => {
    const signup = await app.inject({
      method: "POST",
      url: "/api/subscriptions",
      remoteAddress: "203.0.113.7",
      headers: { "user-agent": "vitest-agent" },
      payload: { email: "Ada@Example.org", topics: ["diffusion models", "  test-time compute "], timezone: "Europe/Berlin", sendHour: 7 },
    });
    expect(signup.statusCode).toBe(202);

    const [mail] = await rt.sink.waitFor(1);
    expect(mail?.envelope.to.map((a) => a.toLowerCase())).toEqual(["ada@example.org"]);
    expect(mail?.parsed.subject).toBe("Confirm your paperboy subscription");
    const confirmUrl = /http:\/\/paperboy\.test\/confirm\?token=[^\s"<]+/.exec(mail?.parsed.text ?? "")?.[0];
    expect(confirmUrl).toBeDefined();

    const [pending] = await rt.db.select().from(subscribers);
    expect(pending).toMatchObject({ status: "pending", consentIp: "203.0.113.7", consentUserAgent: "vitest-agent", timezone: "Europe/Berlin", sendHour: 7 });
    expect(pending?.consentAt).toBeInstanceOf(Date);

    // A mail scanner fetching the link changes nothing.
    const look = await app.inject({ method: "GET", url: pathOf(confirmUrl!) });
    expect(look.statusCode).toBe(200);
    expect(look.body).toContain("Confirm my subscription");
    const token = new URL(confirmUrl!).searchParams.get("token")!;
    expect(mail?.parsed.html).toContain(token);
    expect(look.body).toContain(`name="token" value="${token}"`);
    const [stillPending] = await rt.db.select().from(subscribers);
    expect(stillPending?.status).toBe("pending");

    const confirm = await app.inject({ method: "POST", url: "/confirm", remoteAddress: "198.51.100.9", payload: { token } });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain("<li>diffusion models</li>");
    expect(confirm.body).toContain("<li>test-time compute</li>");
    const [active] = await rt.db.select().from(subscribers);
    expect(active).toMatchObject({ status: "active", confirmIp: "198.51.100.9" });
    expect(active?.confirmedAt).toBeInstanceOf(Date);

    const manageUrl = /href="(http:\/\/paperboy\.test\/manage\?token=[^"]+)"/.exec(confirm.body)?.[1];
    expect(manageUrl).toBeDefined();
    const manageToken = new URL(manageUrl!).searchParams.get("token")!;
    const patch = await app.inject({
      method: "PATCH",
      url: "/api/subscriptions/me",
      headers: { authorization: `Bearer ${manageToken}` },
      payload: { topics: ["mamba or ssm", "reasoning -survey"], maxPapers: 20 },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json()).toMatchObject({ preferences: { topics: ["mamba or ssm", "reasoning -survey"], maxPapers: 20 }, changed: ["maxPapers", "topics"] });
    const me = await app.inject({ method: "GET", url: `/api/subscriptions/me?token=${manageToken}` });
    expect(me.json()).toMatchObject({ preferences: { topics: ["mamba or ssm", "reasoning -survey"], status: "active" }, consent: { ip: "203.0.113.7" } });

    const oneClick = pathOf(links.oneClick({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET }, active!));
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({
        method: "POST",
        url: oneClick,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: "List-Unsubscribe=One-Click",
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers["set-cookie"]).toBeUndefined();
      expect(res.headers.location).toBeUndefined();
    }
    const [gone] = await rt.db.select().from(subscribers);
    expect(gone?.status).toBe("unsubscribed");
    const events = await rt.db.select().from(emailEvents).where(eq(emailEvents.subscriberId, gone!.id));
    expect(events.map((e) => [e.type, e.source])).toEqual([["unsubscribe", "one-click"]]);
    expect(rt.sink.messages).toHaveLength(1);
  });

  it("answers the same when the confirmation email cannot be sent, and a later signup mails again", async () => {
    rt.sink.respond(() => ({ code: 550, message: "mailbox unavailable" }));
    const failed = await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: "bounce@example.org", topics: ["retrieval"] } });
    rt.sink.respond(undefined);
    expect(failed.statusCode).toBe(202);
    expect(failed.json()).toEqual({ status: "accepted", message: expect.any(String) as string });
    const before = rt.sink.messages.length;
    const retry = await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: "bounce@example.org", topics: ["retrieval"] } });
    expect(retry.body).toBe(failed.body);
    const mails = await rt.sink.waitFor(before + 1);
    expect(mails.at(-1)?.envelope.to).toEqual(["bounce@example.org"]);
  });

  it("documents the subscription API at /docs", async () => {
    const res = await app.inject({ method: "GET", url: "/docs/json" });
    const paths = res.json<{ paths: Record<string, Record<string, unknown>> }>().paths;
    expect(Object.keys(paths["/api/subscriptions"] ?? {})).toEqual(["post"]);
    expect(Object.keys(paths["/api/subscriptions/me"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
    expect(paths).toHaveProperty("/unsubscribe/one-click");
    expect(paths).not.toHaveProperty("/manage");
  });

  it("accepts one-click as multipart/form-data", async () => {
    const [row] = await rt.db
      .insert(subscribers)
      .values({ email: "multi@example.org", status: "active", confirmedAt: new Date() })
      .returning();
    const boundary = "----pbtest";
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const url = pathOf(links.oneClick({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET }, row!));
    const res = await app.inject({ method: "POST", url, headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, payload });
    expect(res.statusCode).toBe(200);
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, row!.id));
    expect(after?.status).toBe("unsubscribed");
  });

  it("erases personal data but keeps the anonymous row, and revokes the links", async () => {
    const [row] = await rt.db
      .insert(subscribers)
      .values({ email: "erase@example.org", status: "active", confirmedAt: new Date(), consentIp: "192.0.2.1", consentUserAgent: "ua" })
      .returning();
    const token = new URL(links.manage({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET }, row!)).searchParams.get("token")!;
    const del = await app.inject({ method: "DELETE", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${token}` } });
    expect(del.statusCode).toBe(200);
    const [after] = await rt.db.select().from(subscribers).where(eq(subscribers.id, row!.id));
    expect(after).toMatchObject({ email: null, status: "unsubscribed", consentIp: null, consentUserAgent: null, tokenVersion: 2 });
    expect(after?.erasedAt).toBeInstanceOf(Date);
    const again = await app.inject({ method: "GET", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${token}` } });
    expect(again.statusCode).toBe(403);
    const { rows } = await rt.pool.query<{ n: number }>("select count(*)::int as n from subscriber_topics where subscriber_id = $1", [row!.id]);
    expect(rows[0]?.n).toBe(0);
    void sql;
  });
});
