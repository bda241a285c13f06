import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pendingSignups, subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import type { Workers } from "../../src/jobs/workers.js";
import { links } from "../../src/subscribers/links.js";
import { subscriberTopicLabels } from "../../src/subscribers/topics.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/**
 * Anyone can type anyone's address into the signup form. Until the address's owner
 * clicks the new confirmation link, their subscription stays exactly as it was.
 */
let rt: TestRuntime;
let app: App;
let worker: Workers;

const OWNER_IP = "198.51.100.10";
const STRANGER_IP = "203.0.113.66";
const owner = { topics: ["diffusion models", "robot learning"], frequency: "daily", sendHour: 7, timezone: "Europe/Berlin", maxPapers: 10 };
const stranger = { topics: ["crypto scams"], frequency: "weekly", weekday: 5, sendHour: 3, timezone: "Asia/Tokyo", maxPapers: 50, sendWhenEmpty: true };

async function signup(email: string, prefs: object, ip: string) {
  const res = await app.inject({ method: "POST", url: "/api/subscriptions", remoteAddress: ip, headers: { "user-agent": `agent-${ip}` }, payload: { email, ...prefs } });
  expect(res.statusCode).toBe(202);
}

/** The confirmation links mailed to `email` so far, oldest first. */
async function confirmTokens(email: string, count: number): Promise<string[]> {
  const mails = await waitForMails(email, count);
  return mails.map((m) => new URL(/http:\/\/paperboy\.test\/confirm\?token=\S+/.exec(m.parsed.text ?? "")![0]).searchParams.get("token")!);
}

async function waitForMails(email: string, count: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mine = rt.sink.messages.filter((m) => m.envelope.to[0] === email);
    if (mine.length >= count || Date.now() > deadline) return mine;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function confirm(token: string, ip = OWNER_IP) {
  const res = await app.inject({ method: "POST", url: "/confirm", remoteAddress: ip, payload: { token } });
  expect(res.statusCode).toBe(200);
  return res;
}

/** What the owner chose, as stored: the fields a stranger must not change. */
async function record(email: string) {
  const [s] = await rt.db.select().from(subscribers).where(eq(subscribers.email, email));
  return {
    status: s!.status,
    topics: await subscriberTopicLabels(rt.db, s!.id),
    frequency: s!.frequency,
    weekday: s!.weekday,
    sendHour: s!.sendHour,
    timezone: s!.timezone,
    maxPapers: s!.maxPapers,
    sendWhenEmpty: s!.sendWhenEmpty,
    consentIp: s!.consentIp,
    consentUserAgent: s!.consentUserAgent,
    consentAt: s!.consentAt?.toISOString(),
  };
}

beforeAll(async () => {
  rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "1000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000", CONFIRM_EMAILS_PER_HOUR: "100" });
  app = await rt.app();
  worker = await startMailWorker(rt);
});
afterAll(async () => {
  await worker?.close();
  await rt?.close();
});

describe("a stranger's signup for an existing address", () => {
  it("leaves an active subscriber's topics, schedule and consent as they were, and only tells them they are subscribed", async () => {
    await signup("active@example.org", owner, OWNER_IP);
    const [token] = await confirmTokens("active@example.org", 1);
    await confirm(token!);
    const before = await record("active@example.org");
    expect(before).toMatchObject({ status: "active", topics: owner.topics, sendHour: 7, consentIp: OWNER_IP });

    await signup("active@example.org", stranger, STRANGER_IP);
    const mails = await waitForMails("active@example.org", 2);
    expect(mails[1]?.parsed.subject).toBe("You are already subscribed to paperboy");
    expect(mails[1]?.parsed.text).toContain("Your subscription is active and nothing has changed.");
    expect(await record("active@example.org")).toEqual(before);
  });

  it("tells a paused subscriber that they are paused, not that their subscription is active", async () => {
    await signup("paused@example.org", owner, OWNER_IP);
    const [token] = await confirmTokens("paused@example.org", 1);
    await confirm(token!);
    await rt.db.update(subscribers).set({ pausedAt: new Date() }).where(eq(subscribers.email, "paused@example.org"));
    await signup("paused@example.org", stranger, STRANGER_IP);
    const mails = await waitForMails("paused@example.org", 2);
    expect(mails[1]?.parsed.subject).toBe("You are already subscribed to paperboy");
    expect(mails[1]?.parsed.text).toContain("Your subscription is paused");
    expect(mails[1]?.parsed.text).not.toContain("is active");
    expect(mails[1]?.parsed.html).toContain("Your subscription is paused");
  });

  it("leaves a pending subscriber's choices alone; the owner's own link confirms the owner's choices, the stranger's then changes nothing", async () => {
    await signup("pending@example.org", owner, OWNER_IP);
    const before = await record("pending@example.org");
    expect(before).toMatchObject({ status: "pending", sendHour: 7, timezone: "Europe/Berlin", consentIp: OWNER_IP });

    await signup("pending@example.org", stranger, STRANGER_IP);
    expect(await record("pending@example.org")).toEqual(before);

    const [ownLink, strangerLink] = await confirmTokens("pending@example.org", 2);
    const page = await confirm(ownLink!);
    expect(page.body).toContain("<li>diffusion models</li>");
    const confirmed = await record("pending@example.org");
    expect(confirmed).toMatchObject({ status: "active", topics: owner.topics, frequency: "daily", sendHour: 7, timezone: "Europe/Berlin", consentIp: OWNER_IP, consentUserAgent: `agent-${OWNER_IP}` });

    // The stranger's link, clicked later by the owner, does not swap in the stranger's choices.
    await confirm(strangerLink!);
    expect(await record("pending@example.org")).toEqual(confirmed);
    const [s] = await rt.db.select().from(subscribers).where(eq(subscribers.email, "pending@example.org"));
    expect(await rt.db.select().from(pendingSignups).where(eq(pendingSignups.subscriberId, s!.id))).toEqual([]);
  });

  it("leaves an unsubscribed subscriber's choices alone until the new link is clicked, which applies the requested ones", async () => {
    await signup("left@example.org", owner, OWNER_IP);
    const [token] = await confirmTokens("left@example.org", 1);
    const welcome = await confirm(token!);
    const manage = new URL(/href="(http:\/\/paperboy\.test\/manage\?token=[^"]+)"/.exec(welcome.body)![1]!).searchParams.get("token")!;
    const unsub = await app.inject({ method: "POST", url: "/api/subscriptions/me/unsubscribe", headers: { authorization: `Bearer ${manage}` } });
    expect(unsub.json()).toMatchObject({ status: "unsubscribed" });
    const before = await record("left@example.org");

    await signup("left@example.org", stranger, STRANGER_IP);
    const after = await record("left@example.org");
    // It now awaits confirmation (no digest goes to pending or unsubscribed); nothing else moved.
    expect({ ...after, status: before.status }).toEqual(before);
    // The old manage link still works: the owner can still see and erase their data.
    expect((await app.inject({ method: "GET", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${manage}` } })).statusCode).toBe(200);

    const [, newLink] = await confirmTokens("left@example.org", 2);
    await confirm(newLink!, "192.0.2.44");
    expect(await record("left@example.org")).toMatchObject({
      status: "active",
      topics: stranger.topics,
      frequency: "weekly",
      weekday: 5,
      sendHour: 3,
      timezone: "Asia/Tokyo",
      maxPapers: 50,
      sendWhenEmpty: true,
      consentIp: STRANGER_IP,
    });
  });

  it("sends nothing to a suppressed address and changes nothing there", async () => {
    const [s] = await rt.db
      .insert(subscribers)
      .values({ email: "bounced@example.org", status: "bounced", sendHour: 9, consentIp: OWNER_IP, confirmedAt: new Date() })
      .returning();
    const before = await record("bounced@example.org");
    await signup("bounced@example.org", stranger, STRANGER_IP);
    await signup("kept-going@example.org", owner, OWNER_IP);
    await waitForMails("kept-going@example.org", 1);
    expect(rt.sink.messages.filter((m) => m.envelope.to[0] === "bounced@example.org")).toEqual([]);
    expect(await record("bounced@example.org")).toEqual(before);
    expect(await rt.db.select().from(pendingSignups).where(eq(pendingSignups.subscriberId, s!.id))).toEqual([]);
  });

  it("a confirmation link stops working once the subscriber unsubscribes; resubscribing mails a fresh one", async () => {
    await signup("changed-mind@example.org", owner, OWNER_IP);
    const [token] = await confirmTokens("changed-mind@example.org", 1);
    const [s] = await rt.db.select().from(subscribers).where(eq(subscribers.email, "changed-mind@example.org"));
    const unsubscribeToken = new URL(links.unsubscribe({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET }, s!)).searchParams.get("token")!;
    await app.inject({ method: "POST", url: "/unsubscribe", payload: { token: unsubscribeToken } });
    const res = await app.inject({ method: "POST", url: "/confirm", payload: { token } });
    expect(res.statusCode).toBe(403);
    expect((await record("changed-mind@example.org")).status).toBe("unsubscribed");

    // Coming back from the unsubscribe page mails a fresh link; the old one stays dead.
    const back = await app.inject({ method: "POST", url: "/resubscribe", payload: { token: unsubscribeToken } });
    expect(back.body).toContain("Confirm your address with the link we just emailed you");
    const [, fresh] = await confirmTokens("changed-mind@example.org", 2);
    expect(fresh).toBeDefined();
    expect((await app.inject({ method: "POST", url: "/confirm", payload: { token } })).statusCode).toBe(403);
    await confirm(fresh!);
    expect(await record("changed-mind@example.org")).toMatchObject({ status: "active", sendHour: 7, timezone: "Europe/Berlin", consentIp: OWNER_IP });
  });
});
