/**
 * POST /webhooks/{ses,postmark,sendgrid,mailgun,resend}: the bytes each provider
 * really sends (recorded shapes in test/fixtures/webhooks), signed as it signs them.
 */
import { createHmac, createSign, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { buildApp } from "../../src/http/app.js";
import { createSnsFetch } from "../../src/ops/webhooks/ses.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const FIXTURES = new URL("../fixtures/webhooks/", import.meta.url);
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:paperboy-ses-feedback";
const CERT_PATH = "/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";
const POSTMARK_PASSWORD = "postmark-password-0123456789";
const MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef";
const RESEND_SECRET = `whsec_${randomBytes(24).toString("base64")}`;

function fixture(name: string, vars: Record<string, string>): string {
  let text = readFileSync(new URL(name, FIXTURES), "utf8");
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(k, v);
  return text;
}

/** SNS's canonical string (AWS docs: "Verifying the signatures of Amazon SNS messages"). */
function snsStringToSign(m: Record<string, string>): string {
  const keys = m.Type === "Notification"
    ? ["Message", "MessageId", ...(m.Subject !== undefined ? ["Subject"] : []), "Timestamp", "TopicArn", "Type"]
    : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return keys.map((k) => `${k}\n${m[k]}\n`).join("");
}

describe("provider webhooks", () => {
  let rt: TestRuntime;
  let app: App;
  let dir: string;
  let snsKey: string;
  let server: Server;
  const snsRequests: string[] = [];
  const sendgrid = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

  beforeAll(async () => {
    // A signing certificate of our own, served where the SigningCertURL's path points.
    dir = mkdtempSync(path.join(tmpdir(), "pb-sns-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=sns.amazonaws.com"], { stdio: "ignore" });
    snsKey = readFileSync(path.join(dir, "key.pem"), "utf8");
    const cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
    server = createServer((req, res) => {
      snsRequests.push(req.url ?? "");
      if (req.url === CERT_PATH) res.writeHead(200, { "content-type": "application/x-x509-ca-cert" }).end(cert);
      else if (req.url?.startsWith("/?Action=ConfirmSubscription&")) res.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
      else res.writeHead(404).end("<Error><Code>NotFound</Code></Error>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;

    rt = await createTestRuntime({
      MAIL_DOMAIN: "paperboy.test",
      SES_SNS_TOPIC_ARNS: TOPIC,
      POSTMARK_WEBHOOK_PASSWORD: POSTMARK_PASSWORD,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
      RESEND_WEBHOOK_SECRET: RESEND_SECRET,
    });
    app = await buildApp({ ...rt, snsFetch: createSnsFetch({ timeoutMs: 5000, baseUrl: `http://127.0.0.1:${port}` }) });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await rt?.close();
    await new Promise((r) => server?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const subscriber = async (id: number) =>
    (await rt.pool.query<{ status: string; bounce_count: number }>("select status, bounce_count from subscribers where id = $1", [id])).rows[0];
  const events = async (id: number) =>
    (await rt.pool.query<{ type: string; permanent: boolean; source: string; digest_id: number | null }>(
      "select type, permanent, source, digest_id from email_events where subscriber_id = $1 order by id",
      [id],
    )).rows;
  /** A fresh subscriber with one sent digest, and the placeholders that point a fixture at it. */
  async function reader() {
    const email = `reader-${randomBytes(4).toString("hex")}@example.org`;
    const { subscriberId, digestId } = await seedOne(rt.pool, { email });
    const messageId = `<digest-${digestId}@paperboy.test>`;
    return { subscriberId, digestId, email, vars: { __EMAIL__: email, __MESSAGE_ID__: messageId, __MESSAGE_ID_BARE__: messageId.slice(1, -1) } };
  }

  describe("Amazon SES via SNS", () => {
    function snsMessage(name: string, vars: Record<string, string>, version: "1" | "2" = "1", edit?: (m: Record<string, string>) => void): string {
      const m = JSON.parse(fixture(name, vars)) as Record<string, string>;
      m.SignatureVersion = version;
      // SNS stamps each message as it sends it (the recorded one's time is long past).
      m.Timestamp = new Date().toISOString();
      edit?.(m);
      m.Signature = createSign(version === "1" ? "RSA-SHA1" : "RSA-SHA256").update(snsStringToSign(m)).sign(snsKey, "base64");
      return JSON.stringify(m);
    }
    const post = (body: string) =>
      app.inject({
        method: "POST",
        url: "/webhooks/ses",
        // What SNS sends: JSON as text/plain, with its message-type header.
        headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": (JSON.parse(body) as { Type: string }).Type, "user-agent": "Amazon Simple Notification Service Agent" },
        payload: body,
      });

    it("confirms the subscription handshake by visiting the SubscribeURL", async () => {
      const res = await post(snsMessage("ses-subscription-confirmation.json", {}));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 0, matched: 0, confirmed: true });
      expect(snsRequests.some((u) => u.startsWith("/?Action=ConfirmSubscription&") && u.includes("Token=2336412f"))).toBe(true);
    });

    it("a permanent bounce (SignatureVersion 2) suppresses the digest's subscriber; a transient one (version 1) is only recorded", async () => {
      const hard = await reader();
      const res = await post(snsMessage("ses-bounce-permanent.json", hard.vars, "2"));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(hard.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
      expect(await events(hard.subscriberId)).toEqual([{ type: "bounce", permanent: true, source: "ses", digest_id: hard.digestId }]);

      const soft = await reader();
      expect((await post(snsMessage("ses-bounce-transient.json", soft.vars, "1"))).json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(soft.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
      expect(await events(soft.subscriberId)).toEqual([{ type: "bounce", permanent: false, source: "ses", digest_id: soft.digestId }]);
    });

    it("a complaint marks the subscriber complained", async () => {
      const r = await reader();
      expect((await post(snsMessage("ses-complaint.json", r.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect((await subscriber(r.subscriberId))?.status).toBe("complained");
    });

    it("refuses a tampered message, a certificate off SNS's hosts, a topic not configured, and a replay a week old, changing nothing", async () => {
      const r = await reader();
      const tampered = JSON.parse(snsMessage("ses-complaint.json", r.vars)) as Record<string, string>;
      tampered.Message = tampered.Message!.replace("abuse", "fraud");
      const res = await post(JSON.stringify(tampered));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });

      const before = snsRequests.length;
      for (const url of [
        "https://sns.eu-west-1.amazonaws.com.evil.test/SimpleNotificationService-1.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://evil.test/sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://user@sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
      ]) {
        const evil = await post(snsMessage("ses-complaint.json", r.vars, "2", (m) => (m.SigningCertURL = url)));
        expect(evil.statusCode, url).toBe(401);
      }
      // None of them was fetched.
      expect(snsRequests.length).toBe(before);
      // A certificate URL on the right host that does not exist.
      const missing = await post(snsMessage("ses-complaint.json", r.vars, "2", (m) => (m.SigningCertURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-missing.pem")));
      expect(missing.statusCode).toBe(401);

      const otherTopic = await post(snsMessage("ses-complaint.json", r.vars, "2", (m) => (m.TopicArn = "arn:aws:sns:eu-west-1:999999999999:someone-else")));
      expect(otherTopic.statusCode).toBe(403);
      // A genuine message captured and replayed after the week its delivery is remembered.
      const replayed = await post(snsMessage("ses-complaint.json", r.vars, "2", (m) => (m.Timestamp = new Date(Date.now() - 8 * 86_400_000).toISOString())));
      expect(replayed.statusCode).toBe(401);
      expect(replayed.json<{ error: { message: string } }>().error.message).toMatch(/Timestamp/);
      expect(await subscriber(r.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
      expect(await events(r.subscriberId)).toEqual([]);
    });

    it("answers 400 for a body that is not an SNS message or a Message that is not SES's JSON", async () => {
      const notJson = await app.inject({ method: "POST", url: "/webhooks/ses", headers: { "content-type": "text/plain; charset=UTF-8" }, payload: "{not json" });
      expect(notJson.statusCode).toBe(400);
      const noType = await post(JSON.stringify({ ...(JSON.parse(snsMessage("ses-complaint.json", {})) as object), Type: "Surprise" }));
      expect(noType.statusCode).toBe(400);
      expect(noType.json()).toMatchObject({ error: { code: "VALIDATION", field: "Type" } });
      const raw = await post(snsMessage("ses-complaint.json", {}, "2", (m) => (m.Message = "<html>raw delivery</html>")));
      expect(raw.statusCode).toBe(400);
      expect(raw.json()).toMatchObject({ error: { field: "Message" } });
      const wrongShape = await post(snsMessage("ses-complaint.json", {}, "2", (m) => (m.Message = JSON.stringify({ notificationType: "Bounce", bounce: { bounceType: "Permanent", bouncedRecipients: "x" } }))));
      expect(wrongShape.statusCode).toBe(400);
      expect(wrongShape.json()).toMatchObject({ error: { field: "Message.bounce.bouncedRecipients" } });
    });

    it("a recipient who is not the Message-ID's subscriber decides: the address that bounced is suppressed", async () => {
      const a = await reader();
      const b = await reader();
      const res = await post(snsMessage("ses-bounce-permanent.json", { ...a.vars, __EMAIL__: b.email }, "2"));
      expect(res.json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(a.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
      expect(await events(b.subscriberId)).toEqual([{ type: "bounce", permanent: true, source: "ses", digest_id: null }]);
      expect((await subscriber(b.subscriberId))?.status).toBe("bounced");
    });

    it("answers 200 for Message-IDs and addresses it does not know, so SNS stops retrying", async () => {
      const res = await post(snsMessage("ses-bounce-permanent.json", { __EMAIL__: "stranger@example.org", __MESSAGE_ID__: "<0102019a@eu-west-1.amazonses.com>" }, "2"));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 1, matched: 0 });
    });
  });

  describe("Postmark", () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    const post = (body: string, headers: Record<string, string>) =>
      app.inject({ method: "POST", url: "/webhooks/postmark", headers: { "content-type": "application/json", ...headers }, payload: body });

    it("takes the basic-auth credential in the webhook URL: a hard bounce suppresses, a soft bounce is recorded", async () => {
      const hard = await reader();
      const res = await post(fixture("postmark-hard-bounce.json", hard.vars), { authorization: basic("postmark", POSTMARK_PASSWORD) });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(hard.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
      // Postmark's own MessageID is not ours: matched by address, no digest.
      expect(await events(hard.subscriberId)).toEqual([{ type: "bounce", permanent: true, source: "postmark", digest_id: null }]);

      const soft = await reader();
      expect((await post(fixture("postmark-soft-bounce.json", soft.vars), { authorization: basic("postmark", POSTMARK_PASSWORD) })).json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(soft.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });

    it("a retried post (the same bytes again) is recorded once", async () => {
      const r = await reader();
      const body = fixture("postmark-soft-bounce.json", r.vars);
      expect((await post(body, { authorization: basic("postmark", POSTMARK_PASSWORD) })).json()).toEqual({ events: 1, matched: 1 });
      const again = await post(body, { authorization: basic("postmark", POSTMARK_PASSWORD) });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ events: 1, matched: 0, duplicate: true });
      expect(await events(r.subscriberId)).toHaveLength(1);
    });

    it("takes the X-Webhook-Token custom header too: a spam complaint marks the subscriber complained", async () => {
      const r = await reader();
      expect((await post(fixture("postmark-spam-complaint.json", r.vars), { "x-webhook-token": POSTMARK_PASSWORD })).json()).toEqual({ events: 1, matched: 1 });
      expect((await subscriber(r.subscriberId))?.status).toBe("complained");
    });

    it("refuses missing or wrong credentials with 401 and a Basic challenge", async () => {
      const r = await reader();
      for (const headers of [{} as Record<string, string>, { authorization: basic("postmark", "wrong-password-0123456789") }, { authorization: basic("someone", POSTMARK_PASSWORD) }, { "x-webhook-token": "nope" }]) {
        const res = await post(fixture("postmark-hard-bounce.json", r.vars), headers);
        expect(res.statusCode).toBe(401);
        expect(res.headers["www-authenticate"]).toContain("Basic");
      }
      expect(await subscriber(r.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });

    it("hostile bodies get a 4xx or a harmless 200, never a 5xx, and store nothing half-way", async () => {
      const auth = { authorization: basic("postmark", POSTMARK_PASSWORD) };
      const nul = await post(JSON.stringify({ RecordType: "Bounce", Type: "HardBounce", Email: "a\u0000@example.org", MessageID: "<digest-1\u0000@paperboy.test>", Details: "x\u0000y" }), auth);
      expect(nul.statusCode).toBe(200);
      expect(nul.json()).toEqual({ events: 1, matched: 0 });
      const cases: [string, number][] = [
        ['{"__proto__": {"admin": true}, "RecordType": "Bounce"}', 400],
        ["[1, 2, 3]", 400],
        ['{"RecordType": 7}', 400],
        [`{"RecordType": "Bounce", "Email": "${"x".repeat(5000)}"}`, 400],
        ["", 400],
        [`{"RecordType": "Bounce", "Details": "${"d".repeat(2 * 1024 * 1024)}"}`, 413],
      ];
      for (const [body, status] of cases) expect((await post(body, auth)).statusCode, body.slice(0, 40)).toBe(status);
    });
  });

  describe("SendGrid", () => {
    const post = (body: string, signWith = sendgrid.privateKey, timestamp = String(Math.floor(Date.now() / 1000))) =>
      app.inject({
        method: "POST",
        url: "/webhooks/sendgrid",
        headers: {
          "content-type": "application/json",
          "x-twilio-email-event-webhook-timestamp": timestamp,
          "x-twilio-email-event-webhook-signature": sign("sha256", Buffer.from(timestamp + body), signWith).toString("base64"),
        },
        payload: body,
      });

    it("a signed batch: the hard bounce suppresses; processed and delivered events are ignored", async () => {
      const r = await reader();
      const res = await post(fixture("sendgrid-events.json", r.vars));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(r.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
      expect(await events(r.subscriberId)).toEqual([{ type: "bounce", permanent: true, source: "sendgrid", digest_id: r.digestId }]);
    });

    it("a blocked bounce is soft; a spam report marks its subscriber complained", async () => {
      const a = await reader();
      const b = await reader();
      const res = await post(fixture("sendgrid-blocked-and-spamreport.json", { ...a.vars, __OTHER_EMAIL__: b.email }));
      expect(res.json()).toEqual({ events: 2, matched: 2 });
      expect(await subscriber(a.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
      expect(await events(a.subscriberId)).toEqual([{ type: "bounce", permanent: false, source: "sendgrid", digest_id: a.digestId }]);
      expect((await subscriber(b.subscriberId))?.status).toBe("complained");
    });

    it("refuses a body signed by another key, changed after signing, or signed over a week ago, with 401", async () => {
      const r = await reader();
      const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      expect((await post(fixture("sendgrid-events.json", r.vars), other.privateKey)).statusCode).toBe(401);
      const body = fixture("sendgrid-events.json", r.vars);
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = sign("sha256", Buffer.from(ts + body), sendgrid.privateKey).toString("base64");
      const res = await app.inject({
        method: "POST",
        url: "/webhooks/sendgrid",
        headers: { "content-type": "application/json", "x-twilio-email-event-webhook-timestamp": ts, "x-twilio-email-event-webhook-signature": signature },
        payload: body.replace('"bounce"', '"spamreport"'),
      });
      expect(res.statusCode).toBe(401);
      const unsigned = await app.inject({ method: "POST", url: "/webhooks/sendgrid", headers: { "content-type": "application/json" }, payload: body });
      expect(unsigned.statusCode).toBe(401);
      // A genuine batch replayed after the week its delivery is remembered.
      expect((await post(body, sendgrid.privateKey, String(Math.floor(Date.now() / 1000) - 8 * 86_400))).statusCode).toBe(401);
      expect(await subscriber(r.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });
  });

  describe("Mailgun", () => {
    function signed(name: string, vars: Record<string, string>, key = MAILGUN_KEY): string {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const token = randomBytes(25).toString("hex");
      const signature = createHmac("sha256", key).update(timestamp + token).digest("hex");
      return fixture(name, { ...vars, __TIMESTAMP__: timestamp, __TOKEN__: token, __SIGNATURE__: signature });
    }
    const post = (body: string) => app.inject({ method: "POST", url: "/webhooks/mailgun", headers: { "content-type": "application/json" }, payload: body });

    it("a permanent failure suppresses, a temporary one is recorded, a complaint marks complained", async () => {
      const hard = await reader();
      expect((await post(signed("mailgun-failed-permanent.json", hard.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(hard.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
      // Mailgun shows the Message-ID without brackets: still our digest.
      expect(await events(hard.subscriberId)).toEqual([{ type: "bounce", permanent: true, source: "mailgun", digest_id: hard.digestId }]);

      const soft = await reader();
      expect((await post(signed("mailgun-failed-temporary.json", soft.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(soft.subscriberId)).toEqual({ status: "active", bounce_count: 0 });

      const c = await reader();
      expect((await post(signed("mailgun-complained.json", c.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect((await subscriber(c.subscriberId))?.status).toBe("complained");
    });

    // Mailgun signs only `timestamp + token`, not the event: a signature seen once (a log,
    // a request bin) used to carry any event-data, for any address, forever.
    it("a signature already used cannot carry another event, and a stale one is refused", async () => {
      const first = await reader();
      const original = JSON.parse(signed("mailgun-failed-temporary.json", first.vars)) as Record<string, unknown>;
      expect((await post(JSON.stringify(original))).json()).toEqual({ events: 1, matched: 1 });

      const victim = await reader();
      const forged = JSON.parse(signed("mailgun-complained.json", victim.vars)) as Record<string, unknown>;
      forged.signature = original.signature;
      const res = await post(JSON.stringify(forged));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ matched: 0, duplicate: true });
      expect(await subscriber(victim.subscriberId)).toEqual({ status: "active", bounce_count: 0 });

      const stale = JSON.parse(signed("mailgun-complained.json", victim.vars)) as { signature: Record<string, string> };
      const timestamp = String(Math.floor(Date.now() / 1000) - 8 * 86_400);
      stale.signature = { timestamp, token: "t".repeat(50), signature: createHmac("sha256", MAILGUN_KEY).update(`${timestamp}${"t".repeat(50)}`).digest("hex") };
      expect((await post(JSON.stringify(stale))).statusCode).toBe(401);
      expect(await subscriber(victim.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });

    it("refuses another key's signature with 401 and a missing signature object with 400", async () => {
      const r = await reader();
      expect((await post(signed("mailgun-failed-permanent.json", r.vars, "key-someone-else-0123456789"))).statusCode).toBe(401);
      const body = JSON.parse(signed("mailgun-failed-permanent.json", r.vars)) as Record<string, unknown>;
      delete body.signature;
      const res = await post(JSON.stringify(body));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: "VALIDATION", field: "signature" } });
      expect(await subscriber(r.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });
  });

  describe("Resend (Svix signatures)", () => {
    const post = (body: string, opts: { secret?: string; at?: number; id?: string } = {}) => {
      const id = opts.id ?? `msg_${randomBytes(12).toString("hex")}`;
      const ts = String(Math.floor((opts.at ?? Date.now()) / 1000));
      const key = Buffer.from((opts.secret ?? RESEND_SECRET).slice("whsec_".length), "base64");
      const sig = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
      return app.inject({
        method: "POST",
        url: "/webhooks/resend",
        // Svix sends every signature of a rotated secret, space-separated.
        headers: { "content-type": "application/json", "svix-id": id, "svix-timestamp": ts, "svix-signature": `v1,${randomBytes(32).toString("base64")} v1,${sig}` },
        payload: body,
      });
    };

    it("email.bounced suppresses, email.complained marks complained, delivery_delayed is ignored", async () => {
      const b = await reader();
      expect((await post(fixture("resend-bounced.json", b.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect(await subscriber(b.subscriberId)).toEqual({ status: "bounced", bounce_count: 1 });
      const c = await reader();
      expect((await post(fixture("resend-complained.json", c.vars))).json()).toEqual({ events: 1, matched: 1 });
      expect((await subscriber(c.subscriberId))?.status).toBe("complained");
      const d = await reader();
      expect((await post(fixture("resend-delivery-delayed.json", d.vars))).json()).toEqual({ events: 0, matched: 0 });
      expect(await events(d.subscriberId)).toEqual([]);
    });

    it("refuses another secret's signature and a replay older than five minutes with 401", async () => {
      const r = await reader();
      expect((await post(fixture("resend-bounced.json", r.vars), { secret: `whsec_${randomBytes(24).toString("base64")}` })).statusCode).toBe(401);
      expect((await post(fixture("resend-bounced.json", r.vars), { at: Date.now() - 6 * 60_000 })).statusCode).toBe(401);
      expect(await subscriber(r.subscriberId)).toEqual({ status: "active", bounce_count: 0 });
    });
  });
});

describe("provider webhooks without configuration", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("each endpoint answers 404 naming the variable that turns it on", async () => {
    const app = await rt.app();
    const expected = { ses: "SES_SNS_TOPIC_ARNS", postmark: "POSTMARK_WEBHOOK_PASSWORD", sendgrid: "SENDGRID_WEBHOOK_PUBLIC_KEY", mailgun: "MAILGUN_WEBHOOK_SIGNING_KEY", resend: "RESEND_WEBHOOK_SECRET" };
    for (const [provider, variable] of Object.entries(expected)) {
      const res = await app.inject({ method: "POST", url: `/webhooks/${provider}`, headers: { "content-type": "application/json" }, payload: "{}" });
      expect(res.statusCode, provider).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: "WEBHOOK_DISABLED" } });
      expect(res.json<{ error: { message: string } }>().error.message).toContain(variable);
    }
  });

  it("documents each endpoint in the OpenAPI document", async () => {
    const app = await rt.app();
    const res = await app.inject({ method: "GET", url: "/docs/json" });
    expect(res.statusCode).toBe(200);
    const paths = res.json<{ paths: Record<string, { post?: { summary?: string } }> }>().paths;
    for (const p of ["ses", "postmark", "sendgrid", "mailgun", "resend", "email-events"]) expect(paths[`/webhooks/${p}`]?.post?.summary, p).toBeTruthy();
  });
});
