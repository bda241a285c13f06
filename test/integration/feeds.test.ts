import { sql } from "drizzle-orm";
import { parseAtomFeed } from "feedsmith";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { links } from "../../src/subscribers/links.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { addPaper } from "./match-fixtures.js";

let rt: TestRuntime;
let app: App;
const ctx = () => ({ publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET });

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
  await addPaper(rt.db, { title: "Day one low", upvotes: 2, listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
  await addPaper(rt.db, { title: "Day one high", upvotes: 20, listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
  await addPaper(rt.db, { title: "Diffusion & <friends>", abstract: "Control \u0001 chars and diffusion.", upvotes: 9, listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
  await addPaper(rt.db, { title: "Day two top", upvotes: 212, listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
  await rt.db.execute(sql`update papers set updated_at = first_seen_at + interval '1 hour 0.4 seconds'`);
});
afterAll(async () => {
  await rt?.close();
});

/** Parsed with feedsmith, and checked for what RFC 4287 requires of a feed and its entries. */
function parseValidAtom(body: string) {
  const feed = parseAtomFeed(body);
  expect(feed.id).toBeTruthy();
  expect(feed.title?.value).toBeTruthy();
  expect(feed.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  expect(feed.authors?.length ?? 0).toBeGreaterThan(0);
  expect(feed.links?.some((l) => l.rel === "self")).toBe(true);
  for (const e of feed.entries ?? []) {
    expect(e.id).toBeTruthy();
    expect(e.title?.value).toBeTruthy();
    expect(e.updated).toMatch(/Z$/);
    expect(e.links?.some((l) => l.rel === "alternate")).toBe(true);
  }
  return feed;
}

describe("Atom feeds", () => {
  it("trending: latest day first, upvotes order within a day, stable ids, `updated` the latest entry's, 304 on repeat", async () => {
    const res = await app.inject({ method: "GET", url: "/papers/feed.atom" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/atom\+xml/);
    const feed = parseValidAtom(res.body);
    expect(feed.entries?.map((e) => e.title?.value)).toEqual(["Day two top", "Diffusion & <friends>", "Day one high", "Day one low"]);
    expect(res.body).not.toContain("\u0001");
    expect(feed.updated).toBe("2026-11-27T07:00:00Z");
    expect(feed.entries?.[0]?.updated).toBe("2026-11-27T07:00:00Z");
    expect(feed.entries?.[0]?.published).toBe("2026-11-27T06:00:00Z");

    const again = await app.inject({ method: "GET", url: "/papers/feed.atom" });
    expect(parseValidAtom(again.body).entries?.map((e) => e.id)).toEqual(feed.entries?.map((e) => e.id));
    expect(again.body).toBe(res.body);
    const cached = await app.inject({ method: "GET", url: "/papers/feed.atom", headers: { "if-none-match": String(res.headers.etag) } });
    expect(cached.statusCode).toBe(304);

    // New upvotes: the entry's `updated` and the feed's move, its id does not.
    await rt.db.execute(sql`update papers set upvotes = 1000, updated_at = '2026-11-28T10:00:00Z' where title = 'Day one low'`);
    const later = parseValidAtom((await app.inject({ method: "GET", url: "/papers/feed.atom" })).body);
    expect(later.updated).toBe("2026-11-28T10:00:00Z");
    const moved = later.entries?.find((e) => e.title?.value === "Day one low");
    expect(moved?.id).toBe(feed.entries?.find((e) => e.title?.value === "Day one low")?.id);
    expect(moved?.updated).toBe("2026-11-28T10:00:00Z");
  });

  it("search: only the matches of the topic syntax; a bad query is a 400", async () => {
    const feed = parseValidAtom((await app.inject({ method: "GET", url: `/papers/feed.atom?q=${encodeURIComponent("diffusion or top")}` })).body);
    expect(feed.entries?.map((e) => e.title?.value).sort()).toEqual(["Day two top", "Diffusion & <friends>"]);
    expect(feed.id).not.toBe(parseValidAtom((await app.inject({ method: "GET", url: "/papers/feed.atom" })).body).id);
    expect((await app.inject({ method: "GET", url: "/papers/feed.atom?q=the" })).statusCode).toBe(400);
  });

  it("a subscriber's own digests, with why each paper is there; the link is revoked from the manage page alone", async () => {
    const { rows } = await rt.db.execute<{ id: number }>(sql`
      insert into subscribers (email, status, confirmed_at) values ('feed@example.org', 'active', now()) returning id`);
    const id = Number(rows[0]!.id);
    await setSubscriberTopics(rt.db, id, ["Diffusion"]);
    await rt.db.execute(sql`
      insert into digests (subscriber_id, period, status, covers_to, paper_count, paper_ids, matches, sent_at)
      select ${id}, '2026-11-28', 'sent', now(), 2,
             array[(select id from papers where title like 'Diffusion%'), (select id from papers where title = 'Day two top')],
             jsonb_build_array(jsonb_build_object('score', 1, 'topics', jsonb_build_array(t.id), 'words', jsonb_build_array('diffus')),
                               jsonb_build_object('score', 212, 'topics', '[]'::jsonb, 'words', '[]'::jsonb, 'trending', 212)),
             '2026-11-28T08:00:02.5Z'
      from topics t where t.query = 'diffusion'`);
    const s = { id, tokenVersion: 1, feedVersion: 1 };
    const url = new URL(links.feed(ctx(), s));
    const res = await app.inject({ method: "GET", url: url.pathname });
    expect(res.statusCode).toBe(200);
    const feed = parseValidAtom(res.body);
    expect(feed.updated).toBe("2026-11-28T08:00:02Z");
    expect(feed.entries).toHaveLength(1);
    const content = feed.entries?.[0]?.content?.value ?? "";
    expect(content).toContain("because you follow: Diffusion");
    expect(content).toContain("trending: 212 upvotes");
    expect(feed.entries?.[0]?.links?.[0]?.href).toContain("/digests/");

    // The manage page lists the digest with its view link and offers the feed.
    const manageToken = new URL(links.manage(ctx(), s)).searchParams.get("token")!;
    const manage = await app.inject({ method: "GET", url: `/manage?token=${manageToken}` });
    expect(manage.body).toContain('id="archive"');
    expect(manage.body).toMatch(/<a href="http:\/\/[^"]+\/digests\/\d+\?token=[^"]+">Saturday, 28 November 2026<\/a>/);
    expect(manage.body).toContain(url.pathname);

    const revoked = await app.inject({ method: "POST", url: "/manage/feed/revoke", payload: { token: manageToken } });
    // Redirected back like a save, so refreshing the page that shows the new link keeps it.
    expect(revoked.statusCode).toBe(303);
    expect((await app.inject({ method: "GET", url: url.pathname })).statusCode).toBe(403);
    const fresh = new URL(links.feed(ctx(), { ...s, feedVersion: 2 }));
    for (let refresh = 0; refresh < 2; refresh++) {
      const shown = await app.inject({ method: "GET", url: String(revoked.headers.location) });
      expect(shown.body).toContain("Your old feed link no longer works.");
      expect(shown.body).toContain(fresh.pathname);
    }
    expect((await app.inject({ method: "GET", url: fresh.pathname })).statusCode).toBe(200);
    // Only the feed link was replaced: the manage link still works.
    expect((await app.inject({ method: "GET", url: `/manage?token=${manageToken}` })).statusCode).toBe(200);
    for (const bad of ["/feed/nope.atom", "/feed/1.f.1.0.AAAA.atom", "/feed/x", `/feed/${"a".repeat(400)}.atom`]) {
      const r = await app.inject({ method: "GET", url: bad });
      expect(r.statusCode, bad).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, bad).toBeLessThan(500);
    }
  });
});
