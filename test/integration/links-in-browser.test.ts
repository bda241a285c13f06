import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import { tokenFor } from "../../src/subscribers/links.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime;
let app: App;
let id: number;
const tokens: Record<"manage" | "unsubscribe" | "confirm", string> = { manage: "", unsubscribe: "", confirm: "" };

async function status(): Promise<string> {
  const { rows } = await rt.db.execute<{ status: string }>(sql`select status::text from subscribers where id = ${id}`);
  return rows[0]?.status ?? "";
}

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
  const [s] = await rt.db.insert(subscribers).values({ email: "reader@example.org", status: "active", confirmedAt: new Date() }).returning();
  id = s!.id;
  const ctx = { publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET };
  for (const purpose of ["manage", "unsubscribe", "confirm"] as const) tokens[purpose] = tokenFor(ctx, s!, purpose);
});
afterAll(async () => {
  await rt?.close();
});

describe("links from an email, opened in a browser", () => {
  it("the List-Unsubscribe URL opened with GET shows the one-button unsubscribe page and changes nothing", async () => {
    const res = await app.inject({ method: "GET", url: `/unsubscribe/one-click?token=${tokens.unsubscribe}`, headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toContain('<form class="card" method="post" action="/unsubscribe">');
    expect(res.body).toContain(`value="${tokens.unsubscribe}"`);
    expect(res.body).toContain("<button type=\"submit\">Unsubscribe</button>");
    // The same page as the footer link's.
    const footer = await app.inject({ method: "GET", url: `/unsubscribe?token=${tokens.unsubscribe}` });
    expect(res.body).toBe(footer.body);
    expect(await status()).toBe("active");
    const { rows } = await rt.db.execute<{ n: number }>(sql`select count(*)::int as n from email_events`);
    expect(rows[0]?.n).toBe(0);
    // A forged token gets the friendly page, not JSON.
    const forged = await app.inject({ method: "GET", url: "/unsubscribe/one-click?token=1.u.1.0.forged" });
    expect(forged.statusCode).toBe(403);
    expect(forged.headers["content-type"]).toContain("text/html");
  });

  it("every page and answer reached with a token says Cache-Control: no-store", async () => {
    const requests = [
      { method: "GET" as const, url: `/confirm?token=${tokens.confirm}` },
      { method: "GET" as const, url: `/manage?token=${tokens.manage}` },
      { method: "GET" as const, url: `/unsubscribe?token=${tokens.unsubscribe}` },
      { method: "GET" as const, url: `/unsubscribe/one-click?token=${tokens.unsubscribe}` },
      { method: "GET" as const, url: `/api/subscriptions/me?token=${tokens.manage}` },
      { method: "GET" as const, url: "/api/subscriptions/me", headers: { authorization: `Bearer ${tokens.manage}` } },
      { method: "PATCH" as const, url: `/api/subscriptions/me?token=${tokens.manage}`, payload: { sendHour: 9 } },
      { method: "POST" as const, url: "/manage", payload: { token: tokens.manage, topics: "diffusion models", sendHour: "7" } },
      { method: "GET" as const, url: "/manage?token=1.m.1.0.forged" },
      { method: "GET" as const, url: "/api/subscriptions/me?token=1.m.1.0.forged" },
    ];
    for (const r of requests) {
      const res = await app.inject(r);
      expect(res.statusCode, `${r.method} ${r.url}`).toBeLessThan(500);
      expect(res.headers["cache-control"], `${r.method} ${r.url}`).toBe("no-store");
    }
    // The signup page holds no token and may be cached as usual.
    expect((await app.inject({ method: "GET", url: "/subscribe" })).headers["cache-control"]).toBeUndefined();
  });

  it("the unsubscribe link visited after unsubscribing says you already are, and offers to resubscribe", async () => {
    const done = await app.inject({ method: "POST", url: "/unsubscribe", payload: { token: tokens.unsubscribe } });
    expect(done.statusCode).toBe(200);
    expect(await status()).toBe("unsubscribed");
    for (const url of [`/unsubscribe?token=${tokens.unsubscribe}`, `/unsubscribe/one-click?token=${tokens.unsubscribe}`]) {
      const again = await app.inject({ method: "GET", url });
      expect(again.statusCode).toBe(200);
      expect(again.body).toContain("This address was already unsubscribed.");
      expect(again.body).not.toContain('action="/unsubscribe"');
      expect(again.body).toContain('action="/resubscribe"');
      expect(again.headers["cache-control"]).toBe("no-store");
    }
  });
});
