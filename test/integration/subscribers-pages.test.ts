import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailEvents, subscribers, subscriberTopics } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import type { Workers } from "../../src/jobs/workers.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime;
let app: App;
let mailWorker: Workers;
let ip = 0;
const remoteAddress = () => `10.9.0.${++ip}`;
const ctx = () => ({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET });
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const urlencoded = { "content-type": "application/x-www-form-urlencoded" };

async function activeSubscriber(email: string, topics = ["diffusion models"]) {
  const [row] = await rt.db.insert(subscribers).values({ email, status: "active", confirmedAt: new Date() }).returning();
  await setSubscriberTopics(rt.db, row!.id, topics);
  return row!;
}

async function row(id: number) {
  const [r] = await rt.db.select().from(subscribers).where(eq(subscribers.id, id));
  return r!;
}

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
  mailWorker = await startMailWorker(rt);
});
afterAll(async () => {
  await mailWorker?.close();
  await rt?.close();
});

describe("signup page without JavaScript", () => {
  it("serves an accessible form with no inline script under a strict CSP", async () => {
    const res = await app.inject({ method: "GET", url: "/subscribe" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    for (const id of ["email", "topics", "frequency", "weekday", "sendHour", "timezone", "maxPapers"]) {
      expect(res.body).toContain(`<label for="${id}"`);
      expect(res.body).toContain(`id="${id}"`);
    }
    expect(res.body).toContain('name="viewport" content="width=device-width, initial-scale=1"');
    expect(res.body).toMatch(/<textarea id="topics"[^>]*>[\s\S]*<\/textarea>\s*<p class="error"[^>]*><\/p>\s*<div data-topic-preview><\/div>/);
    expect(res.body).toContain('<script src="/assets/signup.js" defer></script>');
    expect(res.body).toContain('<script src="/assets/preview.js" defer></script>');
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const js = await app.inject({ method: "GET", url: "/assets/signup.js" });
    expect(js.statusCode).toBe(200);
  });

  it("posts the form and shows the check-your-inbox page, the same for a known address", async () => {
    const fields = { email: "form@example.org", topics: "diffusion models\r\n\r\n  llm agents  \r\n", frequency: "weekly", weekday: "3", sendHour: "6", timezone: "America/New_York", maxPapers: "15", sendWhenEmpty: "on" };
    const first = await app.inject({ method: "POST", url: "/", remoteAddress: remoteAddress(), headers: urlencoded, payload: form(fields) });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain("Check your inbox");
    const [saved] = await rt.db.select().from(subscribers).where(eq(subscribers.email, "form@example.org"));
    expect(saved).toMatchObject({ status: "pending", frequency: "weekly", weekday: 3, sendHour: 6, timezone: "America/New_York", maxPapers: 15, sendWhenEmpty: true });
    const again = await app.inject({ method: "POST", url: "/", remoteAddress: remoteAddress(), headers: urlencoded, payload: form(fields) });
    expect(again.statusCode).toBe(first.statusCode);
    expect(again.body).toBe(first.body);
    const mails = await rt.sink.waitFor(2);
    expect(mails.filter((m) => m.envelope.to[0] === "form@example.org")).toHaveLength(2);
  });

  it("takes a signup without topics as a trending subscription, from the full form and from the one-field box", async () => {
    const full = await app.inject({ method: "POST", url: "/subscribe", remoteAddress: remoteAddress(), headers: urlencoded, payload: form({ email: "trend@example.org", topics: " \r\n " }) });
    expect(full.statusCode).toBe(200);
    expect(full.body).toContain("Check your inbox");
    const box = await app.inject({ method: "POST", url: "/subscribe", remoteAddress: remoteAddress(), headers: urlencoded, payload: form({ email: "box@example.org" }) });
    expect(box.body).toContain("Check your inbox");
    for (const email of ["trend@example.org", "box@example.org"]) {
      const [saved] = await rt.db.select().from(subscribers).where(eq(subscribers.email, email));
      expect(saved).toMatchObject({ status: "pending", addTrending: false });
      expect(await rt.db.select().from(subscriberTopics).where(eq(subscriberTopics.subscriberId, saved!.id))).toEqual([]);
    }
    const prefilled = await app.inject({ method: "GET", url: `/subscribe?topics=${encodeURIComponent('"test-time compute" <x>')}` });
    expect(prefilled.body).toContain("&quot;test-time compute&quot; &lt;x&gt;</textarea>");
  });

  it("the confirmed page says when no email comes in the subscriber's own terms: topics or trending, day or week", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ email: "quiet-trend@example.org", frequency: "weekly", weekday: "2" }, "When there are no new trending papers, no email is sent that week."],
      [{ email: "quiet-topics@example.org", topics: "diffusion models" }, "When nothing new matches your topics, no email is sent that day."],
    ];
    for (const [fields, words] of cases) {
      await app.inject({ method: "POST", url: "/subscribe", remoteAddress: remoteAddress(), headers: urlencoded, payload: form(fields) });
      const deadline = Date.now() + 15_000;
      let text = "";
      while (!text && Date.now() < deadline) {
        text = rt.sink.messages.find((m) => m.envelope.to[0] === fields.email)?.parsed.text ?? "";
        if (!text) await new Promise((r) => setTimeout(r, 50));
      }
      const token = new URL(/http:\/\/paperboy\.test\/confirm\?token=\S+/.exec(text)![0]).searchParams.get("token")!;
      const confirmed = await app.inject({ method: "POST", url: "/confirm", payload: { token } });
      expect(confirmed.statusCode).toBe(200);
      expect(confirmed.body).toContain(words);
    }
  });

  it("re-renders the form with the error next to the field, keeps what was typed, stores nothing", async () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ email: "nope", topics: "robots" }, "email", /Enter a valid email address/],
      [{ email: "a@example.org", topics: "ok\nthe" }, "topics", /Topic 2: &quot;the&quot; has no searchable words/],
      [{ email: "a@example.org", topics: "robots", timezone: "Atlantis/Capital" }, "timezone", /Unknown time zone/],
      [{ email: "a@example.org", topics: "robots", sendHour: "24" }, "sendHour", /Send hour is 0–23/],
      // Numbers as a person types them: a hex or exponent spelling is not an hour.
      [{ email: "a@example.org", topics: "robots", sendHour: "0x10" }, "sendHour", /Send hour is 0–23/],
      [{ email: "a@example.org", topics: "robots", maxPapers: "1e1" }, "maxPapers", /Papers per digest is 5–50/],
      [{ email: "a@example.org", topics: "robots", maxPapers: "0" }, "maxPapers", /Papers per digest is 5–50/],
    ];
    for (const [fields, field, message] of cases) {
      const res = await app.inject({ method: "POST", url: "/", remoteAddress: remoteAddress(), headers: urlencoded, payload: form(fields) });
      expect(res.statusCode, field).toBe(400);
      expect(res.body).toMatch(new RegExp(`<p class="error" id="${field}-error" data-error-for="${field}" role="alert">[^<]*`));
      expect(res.body).toMatch(message);
      expect(res.body).toContain(`value="${fields.email}"`);
    }
    const kept = await app.inject({ method: "POST", url: "/", remoteAddress: remoteAddress(), headers: urlencoded, payload: form({ email: "x@example.org", topics: "<b>mine</b>\nsecond", timezone: "Bad/Zone" }) });
    expect(kept.body).toContain("&lt;b&gt;mine&lt;/b&gt;\nsecond</textarea>");
    expect(kept.body).toContain('value="Bad/Zone"');
    const rows = await rt.db.select().from(subscribers).where(eq(subscribers.email, "a@example.org"));
    expect(rows).toHaveLength(0);
  });
});

describe("manage page", () => {
  it("shows the preferences and saves a change, saying what changed", async () => {
    const s = await activeSubscriber("manage@example.org", ["diffusion models", "speech"]);
    const token = tokenFor(ctx(), s, "manage");
    const page = await app.inject({ method: "GET", url: `/manage?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("manage@example.org");
    expect(page.body).toContain("diffusion models\nspeech</textarea>");
    expect(page.body).toContain("<div data-topic-preview></div>");
    expect(page.body).toContain(`name="token" value="${token}"`);

    const save = await app.inject({
      method: "POST",
      url: "/manage",
      headers: urlencoded,
      payload: form({ token, topics: "diffusion models\nrobot learning", frequency: "daily", weekday: "1", sendHour: "18", timezone: "UTC", maxPapers: "10" }),
    });
    // Post/Redirect/Get: back to the token URL, which says what changed.
    expect(save.statusCode).toBe(303);
    expect(save.headers.location).toBe(`/manage?token=${encodeURIComponent(token)}&saved=sendHour%2Ctopics`);
    const saved = await app.inject({ method: "GET", url: String(save.headers.location) });
    expect(saved.body).toContain("What changed");
    expect(saved.body).toContain("<strong>Send hour</strong>: 18:00");
    expect(saved.body).toContain("<strong>Topics</strong>: diffusion models, robot learning");
    expect(saved.body).not.toContain("<strong>Time zone</strong>");
    expect((await row(s.id)).sendHour).toBe(18);

    const bad = await app.inject({
      method: "POST",
      url: "/manage",
      headers: urlencoded,
      payload: form({ token, topics: "quantum", frequency: "daily", weekday: "1", sendHour: "3", timezone: "Nowhere/Else", maxPapers: "10" }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("Nothing was saved");
    expect(bad.body).toContain('value="Nowhere/Else"');
    expect((await row(s.id)).sendHour).toBe(18);
  });

  it("lists the topics in the order the person typed them", async () => {
    // "alpha waves" exists already (an older, lower topic id): order must not follow ids or names.
    await activeSubscriber("other@example.org", ["alpha waves"]);
    const s = await activeSubscriber("order@example.org");
    const token = tokenFor(ctx(), s, "manage");
    const typed = "zebra finches\nalpha waves\nMamba or SSM";
    const save = await app.inject({
      method: "POST",
      url: "/manage",
      headers: urlencoded,
      payload: form({ token, topics: typed, frequency: "daily", weekday: "1", sendHour: "8", timezone: "UTC", maxPapers: "10" }),
    });
    const page = await app.inject({ method: "GET", url: String(save.headers.location) });
    expect(page.body).toContain(`${typed}</textarea>`);
    expect(page.body).toContain("<strong>Topics</strong>: zebra finches, alpha waves, Mamba or SSM");
  });

  it("switches to trending by emptying the topics, and saves 'also add the top 3 trending papers'", async () => {
    const s = await activeSubscriber("switch@example.org", ["speech"]);
    const token = tokenFor(ctx(), s, "manage");
    const base = { token, frequency: "daily", weekday: "1", sendHour: "8", timezone: "UTC", maxPapers: "10" };
    // Each save redirects back to the manage link (Post/Redirect/Get), which says what changed.
    const post = async (fields: Record<string, string>) => {
      const res = await app.inject({ method: "POST", url: "/manage", headers: urlencoded, payload: form(fields) });
      expect(res.statusCode).toBe(303);
      return app.inject({ method: "GET", url: String(res.headers.location) });
    };
    const mixed = await post({ ...base, topics: "speech", addTrending: "on" });
    expect(mixed.body).toContain("<strong>Also add the top 3 trending papers</strong>: yes");
    expect((await row(s.id)).addTrending).toBe(true);
    expect(mixed.body).toMatch(/name="addTrending" value="on" checked/);
    const trending = await post({ ...base, topics: "" });
    expect(trending.statusCode).toBe(200);
    expect(trending.body).toContain("<strong>Topics</strong>: none (trending papers)");
    expect(await rt.db.select().from(subscriberTopics).where(eq(subscriberTopics.subscriberId, s.id))).toEqual([]);
  });

  it("pauses, resumes and downloads the data", async () => {
    const s = await activeSubscriber("pauser@example.org");
    const token = tokenFor(ctx(), s, "manage");
    const pause = await app.inject({ method: "POST", url: "/manage/pause", headers: urlencoded, payload: form({ token }) });
    expect(pause.statusCode).toBe(303);
    const paused = await app.inject({ method: "GET", url: String(pause.headers.location) });
    expect(paused.body).toContain("Paused: no digests until you resume.");
    expect(paused.body).toContain('action="/manage/resume"');
    expect((await row(s.id)).pausedAt).toBeInstanceOf(Date);
    expect((await row(s.id)).status).toBe("active");
    await app.inject({ method: "POST", url: "/manage/resume", headers: urlencoded, payload: form({ token }) });
    expect((await row(s.id)).pausedAt).toBeNull();

    const data = await app.inject({ method: "GET", url: `/manage/data?token=${token}` });
    expect(data.headers["content-disposition"]).toMatch(/attachment/);
    expect(data.json()).toMatchObject({ preferences: { email: "pauser@example.org", topics: ["diffusion models"] } });
  });

  it("refuses a form post without its token and changes nothing", async () => {
    const s = await activeSubscriber("csrf@example.org");
    const res = await app.inject({ method: "POST", url: "/manage/pause", headers: urlencoded, payload: form({}) });
    expect(res.statusCode).toBe(403);
    expect((await row(s.id)).pausedAt).toBeNull();
  });
});

describe("unsubscribe page", () => {
  it("GET changes nothing; POST unsubscribes and records it; resubscribe brings the subscription back", async () => {
    const s = await activeSubscriber("leaver@example.org");
    const token = tokenFor(ctx(), s, "unsubscribe");
    const look = await app.inject({ method: "GET", url: `/unsubscribe?token=${token}` });
    expect(look.statusCode).toBe(200);
    expect(look.body).toContain('action="/unsubscribe"');
    expect((await row(s.id)).status).toBe("active");

    const done = await app.inject({ method: "POST", url: "/unsubscribe", headers: urlencoded, payload: form({ token }) });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain("You are unsubscribed");
    expect(done.body).toContain('action="/resubscribe"');
    expect((await row(s.id)).status).toBe("unsubscribed");
    const twice = await app.inject({ method: "POST", url: "/unsubscribe", headers: urlencoded, payload: form({ token }) });
    expect(twice.statusCode).toBe(200);
    const events = await rt.db.select().from(emailEvents).where(eq(emailEvents.subscriberId, s.id));
    expect(events.map((e) => e.source)).toEqual(["link"]);

    const back = await app.inject({ method: "POST", url: "/resubscribe", headers: urlencoded, payload: form({ token }) });
    expect(back.statusCode).toBe(200);
    expect(back.body).toContain("Welcome back");
    expect(back.body).toContain("<li>diffusion models</li>");
    expect((await row(s.id)).status).toBe("active");
  });

  it("a subscriber who paused, left and came back is told the digests are still paused", async () => {
    const s = await activeSubscriber("paused-leaver@example.org");
    await rt.db.update(subscribers).set({ pausedAt: new Date() }).where(eq(subscribers.id, s.id));
    const token = tokenFor(ctx(), s, "unsubscribe");
    await app.inject({ method: "POST", url: "/unsubscribe", headers: urlencoded, payload: form({ token }) });
    const back = await app.inject({ method: "POST", url: "/resubscribe", headers: urlencoded, payload: form({ token }) });
    expect(back.statusCode).toBe(200);
    expect(back.body).toContain("Welcome back");
    expect(back.body).toContain("still paused");
    expect((await row(s.id)).pausedAt).not.toBeNull();
  });

  it("unsubscribes from the manage page", async () => {
    const s = await activeSubscriber("manage-leaver@example.org");
    const res = await app.inject({ method: "POST", url: "/manage/unsubscribe", headers: urlencoded, payload: form({ token: tokenFor(ctx(), s, "manage") }) });
    expect(res.body).toContain("You are unsubscribed");
    expect((await row(s.id)).status).toBe("unsubscribed");
  });
});
