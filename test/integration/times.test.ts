import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pendingSignups, subscribers } from "../../src/db/schema.js";
import { localTime } from "../../src/digests/schedule.js";
import type { App } from "../../src/http/app.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const TZ = "America/New_York";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const urlencoded = { "content-type": "application/x-www-form-urlencoded" };

describe("times a subscriber reads agree with when digests are planned", () => {
  let rt: TestRuntime;
  let app: App;
  beforeAll(async () => {
    rt = await createTestRuntime();
    app = await rt.app();
  });
  afterAll(async () => {
    await rt?.close();
  });

  async function subscriber(email: string, sendHour: number, status: "pending" | "active", timezone = TZ) {
    const [row] = await rt.db
      .insert(subscribers)
      .values({ email, status, timezone, sendHour, confirmedAt: status === "active" ? new Date() : null })
      .returning();
    await setSubscriberTopics(rt.db, row!.id, ["diffusion"]);
    // A confirmation link names the signup it confirms: hold one, as a real signup does.
    if (status === "pending") {
      await rt.db.insert(pendingSignups).values({
        subscriberId: row!.id, version: row!.signupVersion, topics: ["diffusion"], timezone, sendHour,
        frequency: "daily", weekday: 1, maxPapers: 10, sendWhenEmpty: false, addTrending: false, consentAt: new Date(),
      });
    }
    return row!;
  }
  const ctx = () => ({ publicUrl: "http://paperboy.test", secret: rt.config.TOKEN_SECRET });
  const confirm = async (s: Awaited<ReturnType<typeof subscriber>>) =>
    (await app.inject({ method: "POST", url: "/confirm", headers: urlencoded, payload: form({ token: tokenFor(ctx(), s, "confirm") }) })).body;

  it("the confirmed page says the first digest comes within the hour when today's send time has passed", async () => {
    // Send hour 00:00 has always passed (the plan at the next full hour picks it up).
    const body = await confirm(await subscriber("passed@example.org", 0, "pending"));
    expect(body).toContain("Your first digest comes within the hour (your send time today, 00:00, has passed), then every day at 00:00, your time (America/New_York).");
  });

  it("the confirmed page gives the next send time in the subscriber's zone when it is still ahead", async () => {
    // A send hour two hours from now must still be today: a zone where it is not yet 22:00
    // (at 22:00 in New York it would be 00:00, which has passed today). One of these always is.
    const zone = ["America/New_York", "Europe/Berlin", "Asia/Tokyo"].find((z) => localTime(new Date(), z).hour <= 20)!;
    const hour = localTime(new Date(), zone).hour + 2;
    const body = await confirm(await subscriber("ahead@example.org", hour, "pending", zone));
    const at = /Your first digest comes (\w{3} \d{1,2} \w{3}, (\d\d):00), then every day/.exec(body);
    expect(at?.[2]).toBe(String(hour).padStart(2, "0"));
    expect(body).not.toContain("UTC");
  });

  it("the manage page says the same, in words and in the subscriber's time", async () => {
    const s = await subscriber("status@example.org", 0, "active");
    const page = (await app.inject({ method: "GET", url: `/manage?token=${tokenFor(ctx(), s, "manage")}` })).body;
    expect(page).toContain("Within the hour: your send time today (");
    expect(page).toContain("Times are in your time zone, America/New_York.");
    expect(page).toContain("No papers have been fetched yet.");
    // Operator words stay on the operator's pages.
    expect(page).not.toMatch(/huggingface|listing day|\d+ new, \d+ updated| UTC/);
  });
});
