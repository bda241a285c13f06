import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { addPaper } from "./match-fixtures.js";

let rt: TestRuntime;
let app: App;

beforeAll(async () => {
  rt = await createTestRuntime();
  app = await rt.app();
  await addPaper(rt.db, { title: "Old day paper", upvotes: 3, listingDay: "2026-11-25", firstSeenAt: "2026-11-25T06:00:00Z" });
  await addPaper(rt.db, { title: "Quiet diffusion note", abstract: "A small note on diffusion.", upvotes: 4, listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
  await addPaper(rt.db, {
    title: "Scaling <b>test-time</b> compute",
    abstract: "word ".repeat(200),
    keywords: ["test-time compute", "verifiers"],
    upvotes: 212,
    listingDay: "2026-11-27",
    firstSeenAt: "2026-11-27T06:00:00Z",
  });
  await addPaper(rt.db, { title: "Diffusion models for proteins", upvotes: 40, listingDay: "2026-11-27", firstSeenAt: "2026-11-27T06:00:00Z" });
  await rt.db.execute(sql`update papers set authors = array['Ada Lovelace','Alan Turing','Grace Hopper','Edsger Dijkstra'], hf_url = 'https://huggingface.co/papers/' || arxiv_id, github_repo = 'example/repo' where upvotes = 212`);
});
afterAll(async () => {
  await rt?.close();
});

const titles = (body: string) => [...body.matchAll(/<h2><a href="[^"]*">([\s\S]*?)<\/a><\/h2>/g)].map((m) => m[1]!.replace(/<\/?mark>/g, ""));

describe("the Daily Papers page", () => {
  it("shows the latest listing day by upvotes, with authors, keywords and links, escaped", async () => {
    const res = await app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(titles(res.body)).toEqual(["Scaling &lt;b&gt;test-time&lt;/b&gt; compute", "Diffusion models for proteins", "Quiet diffusion note"]);
    expect(res.body).toContain("4 authors");
    expect(res.body).toContain('<span class="names">: Ada Lovelace, Alan Turing, Grace Hopper et al.</span>');
    expect(res.body).toMatch(/<a href="https:\/\/huggingface\.co\/papers\/[^"]+">Scaling/);
    expect(res.body).toContain('<a href="https://github.com/example/repo">Code</a>');
    expect(res.body).toContain("<li>verifiers</li>");
    expect(res.body).toMatch(/word word\.\.\.<\/p>/);
    expect(res.body).toContain('action="/subscribe"');
    expect(res.body).toContain('<a href="/subscribe">Choose topics instead</a>');
    expect(res.body).toContain('<a rel="prev" href="/papers/2026-11-25">');
    expect(res.body).not.toContain('rel="next"');
  });

  it("answers 304 to a repeated request, and a changed upvote count changes the page", async () => {
    const first = await app.inject({ method: "GET", url: "/papers/2026-11-27" });
    const etag = String(first.headers.etag);
    expect(first.headers["last-modified"]).toBeDefined();
    const again = await app.inject({ method: "GET", url: "/papers/2026-11-27", headers: { "if-none-match": etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    const since = await app.inject({ method: "GET", url: "/papers/2026-11-27", headers: { "if-modified-since": String(first.headers["last-modified"]) } });
    expect(since.statusCode).toBe(304);
    // A date after now was never sent by us: the page, not a 304 that would keep a stale copy.
    for (const future of ["Fri, 01 Jan 2100 00:00:00 GMT", "Sat, 13 Sep 275760 00:00:00 GMT"]) {
      const res = await app.inject({ method: "GET", url: "/papers/2026-11-27", headers: { "if-modified-since": future } });
      expect(res.statusCode, future).toBe(200);
    }
    await rt.db.execute(sql`update papers set upvotes = 500, updated_at = now() + interval '1 second' where title = 'Quiet diffusion note'`);
    const changed = await app.inject({ method: "GET", url: "/papers/2026-11-27", headers: { "if-none-match": etag } });
    expect(changed.statusCode).toBe(200);
    expect(titles(changed.body)[0]).toBe("Quiet diffusion note");
    await rt.db.execute(sql`update papers set upvotes = 4 where title = 'Quiet diffusion note'`);
  });

  it("navigates days and weeks", async () => {
    const old = await app.inject({ method: "GET", url: "/papers/2026-11-25" });
    expect(titles(old.body)).toEqual(["Old day paper"]);
    expect(old.body).toContain('<a rel="next" href="/papers/2026-11-27">');
    const week = await app.inject({ method: "GET", url: "/papers/week/2026-11-27" });
    expect(week.statusCode).toBe(200);
    expect(titles(week.body)).toEqual(["Scaling &lt;b&gt;test-time&lt;/b&gt; compute", "Diffusion models for proteins", "Quiet diffusion note", "Old day paper"]);
    const empty = await app.inject({ method: "GET", url: "/papers/2026-11-26" });
    expect(empty.statusCode).toBe(404);
    expect(empty.body).toContain("No papers were listed on this day.");
  });

  it("searches in topic syntax, highlights matched words and offers to subscribe to the search", async () => {
    const res = await app.inject({ method: "GET", url: `/search?q=${encodeURIComponent("diffusion -proteins")}` });
    expect(res.statusCode).toBe(200);
    expect(titles(res.body)).toEqual(["Quiet diffusion note"]);
    expect(res.body).toContain("<mark>diffusion</mark>");
    expect(res.body).toContain('<input type="hidden" name="topics" value="diffusion -proteins">');
    const stems = await app.inject({ method: "GET", url: `/search?q=${encodeURIComponent('"test-time compute"')}` });
    expect(titles(stems.body)).toEqual(["Scaling &lt;b&gt;test-time&lt;/b&gt; compute"]);
  });

  it("answers bad dates and searches with a friendly 4xx page, never a 5xx", async () => {
    for (const url of ["/papers/2026-02-30", "/papers/yesterday", "/papers/week/2026-13-01", "/papers/%00", `/papers/${"9".repeat(60)}`,
      "/search?q=the", "/search?q=x", `/search?q=${"a".repeat(101)}`, "/search?q=a%00b", `/search?q=${"a".repeat(2000)}`]) {
      const res = await app.inject({ method: "GET", url, headers: { accept: "text/html" } });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.headers["content-type"], url).toMatch(/text\/html/);
    }
    // Broken percent-encoding is read leniently, as text: a page, not an error.
    expect((await app.inject({ method: "GET", url: "/search?q=%E0%A4%Azz" })).statusCode).toBeLessThan(500);
  });
});
