import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { feedbackToken, links } from "../../src/subscribers/links.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** What a mail client does to an attribute value before following the link. */
const decode = (s: string) => s.replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16))).replace(/&amp;/g, "&");
const pathOf = (u: string) => {
  const x = new URL(u);
  return `${x.pathname}${x.search}`;
};
const tokenOf = (u: string) => new URL(u).searchParams.get("token") ?? "";

describe("More / Less like this (feedback links)", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const ctx = () => ({ publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET });
  let built: Awaited<ReturnType<TestRuntime["app"]>> | undefined;
  const app = async () => (built ??= await rt.app());
  const get = async (url: string) => (await app()).inject({ method: "GET", url, headers: { accept: "text/html" } });
  const post = async (url: string, form: Record<string, string>) =>
    (await app()).inject({ method: "POST", url, headers: { accept: "text/html", "content-type": "application/x-www-form-urlencoded" }, payload: new URLSearchParams(form).toString() });
  const votesOf = async (subscriberId: number) =>
    (await rt.pool.query<{ paper_id: string; vote: number; voted_at: Date }>("select paper_id, vote, voted_at from votes where subscriber_id = $1 order by paper_id", [subscriberId])).rows.map((r) => ({
      paper: Number(r.paper_id),
      vote: r.vote,
      at: r.voted_at.getTime(),
    }));

  it("every paper of a sent digest has both links in HTML and text; opening every one of them (GET, as a scanner does) records nothing", async () => {
    const { subscriberId, digestId, paperIds } = await seedOne(rt.pool, { papers: 3 });
    const sender = buildDigestSender(rt, rt.renderer);
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    const html = msg!.parsed.html as string;
    const text = msg!.parsed.text ?? "";
    const fromHtml = [...html.matchAll(/href="([^"]*\/feedback\?[^"]*)"/g)].map((m) => decode(m[1]!));
    const fromText = [...text.matchAll(/(?:More|Less) like this:\s+(\S+)/g)].map((m) => m[1]!);
    expect(fromHtml).toHaveLength(6);
    expect(fromText).toEqual(fromHtml);
    // The view-in-browser page (and so each past digest of the archive) carries the same links.
    const viewLink = /View in browser:\s+(\S+)/.exec(text)?.[1];
    const page = await get(pathOf(viewLink!));
    expect([...page.body.matchAll(/href="([^"]*\/feedback\?[^"]*)"/g)].map((m) => decode(m[1]!))).toEqual(fromHtml);

    for (const link of fromHtml) {
      const res = await get(pathOf(link));
      expect(res.statusCode, link).toBe(200);
      expect(res.headers["cache-control"]).toContain("no-store");
      expect(res.body).toMatch(/<button type="submit">(More|Less) like this<\/button>/);
      expect(res.body).toContain("Diffusion reasoning");
    }
    expect(await votesOf(subscriberId)).toEqual([]);
    // The links name the digest's papers, in order, "more" then "less".
    expect(fromHtml.map((l) => tokenOf(l).split(".")[4]).map(Number)).toEqual(paperIds.flatMap((id) => [id, id]));
  });

  it("the button records the vote; pressing it again changes nothing; the other link's button changes it; undo removes it", async () => {
    const { subscriberId, paperIds } = await seedOne(rt.pool, { papers: 2 });
    const who = { id: subscriberId, tokenVersion: 1 };
    const more = feedbackToken(ctx(), who, paperIds[0]!, 1);
    const less = feedbackToken(ctx(), who, paperIds[0]!, -1);

    const first = await post("/feedback", { token: more });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain("You asked for more papers like this one");
    expect(first.body).toContain('action="/feedback/undo"');
    const recorded = await votesOf(subscriberId);
    expect(recorded.map(({ paper, vote }) => ({ paper, vote }))).toEqual([{ paper: paperIds[0], vote: 1 }]);

    // A double click or a retried form: same vote, same time.
    expect((await post("/feedback", { token: more })).statusCode).toBe(200);
    expect(await votesOf(subscriberId)).toEqual(recorded);
    // Opening the link again now says the vote stands and offers undo, not a second vote.
    const again = await get(`/feedback?token=${more}`);
    expect(again.body).toContain("You already asked for more papers like this one");
    expect(again.body).not.toContain('action="/feedback"');
    expect(again.body).toContain('action="/feedback/undo"');

    // The last vote wins.
    expect((await post("/feedback", { token: less })).statusCode).toBe(200);
    expect((await votesOf(subscriberId)).map((v) => v.vote)).toEqual([-1]);

    const undone = await post("/feedback/undo", { token: more });
    expect(undone.statusCode).toBe(200);
    expect(undone.body).toContain("Vote removed");
    expect(await votesOf(subscriberId)).toEqual([]);
    // Undo twice is still fine and still nothing.
    expect((await post("/feedback/undo", { token: less })).statusCode).toBe(200);
    expect(await votesOf(subscriberId)).toEqual([]);
  });

  it("hostile or stale tokens and bodies get a 4xx page and store nothing", async () => {
    const { subscriberId, paperIds } = await seedOne(rt.pool, { papers: 1 });
    const who = { id: subscriberId, tokenVersion: 1 };
    const good = feedbackToken(ctx(), who, paperIds[0]!, 1);
    const parts = good.split(".");
    const otherPaper = [...parts.slice(0, 4), String(paperIds[0]! + 1), ...parts.slice(5)].join(".");
    const flipped = [...parts.slice(0, 5), "l", parts[6]].join(".");
    const manageToken = new URL(links.manage(ctx(), who)).searchParams.get("token")!;
    const missingPaper = feedbackToken(ctx(), who, 9_000_000_000, 1);
    const cases: [string, Record<string, string> | string, number][] = [
      ["/feedback", { token: "garbage" }, 403],
      ["/feedback", { token: otherPaper }, 403],
      ["/feedback", { token: flipped }, 403],
      ["/feedback", { token: manageToken }, 403],
      ["/feedback", { token: `${good}\u0000` }, 403],
      ["/feedback", { token: "x".repeat(5000) }, 400],
      ["/feedback", {}, 400],
      ["/feedback", { token: missingPaper }, 404],
      ["/feedback/undo", { token: "1.b.1.0.1.m.AAAA" }, 403],
      ["/feedback", "token=a&token=b", 400],
    ];
    for (const [url, form, status] of cases) {
      const payload = typeof form === "string" ? form : new URLSearchParams(form).toString();
      const res = await (await app()).inject({ method: "POST", url, headers: { accept: "text/html", "content-type": "application/x-www-form-urlencoded" }, payload });
      expect(res.statusCode, `${url} ${payload.slice(0, 60)}`).toBe(status);
      expect(res.headers["content-type"]).toContain("text/html");
      const page = await get(`/feedback?${payload}`);
      expect(page.statusCode, `GET ${payload.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(page.statusCode).toBeLessThan(500);
    }
    const json = await (await app()).inject({ method: "POST", url: "/feedback", headers: { "content-type": "application/json" }, payload: '{"token":["x"]}' });
    expect(json.statusCode).toBe(400);
    expect(await votesOf(subscriberId)).toEqual([]);

    // Revoked links (token version bumped) stop working.
    await rt.pool.query("update subscribers set token_version = 2 where id = $1", [subscriberId]);
    expect((await post("/feedback", { token: good })).statusCode).toBe(403);
    expect((await get(`/feedback?token=${good}`)).statusCode).toBe(403);
    expect(await votesOf(subscriberId)).toEqual([]);
  });

  it("votes are in the subscriber's data export and gone after erasure, with their links", async () => {
    const { subscriberId, paperIds } = await seedOne(rt.pool, { papers: 2 });
    const who = { id: subscriberId, tokenVersion: 1 };
    await post("/feedback", { token: feedbackToken(ctx(), who, paperIds[0]!, 1) });
    await post("/feedback", { token: feedbackToken(ctx(), who, paperIds[1]!, -1) });
    const manage = new URL(links.manage(ctx(), who)).searchParams.get("token")!;
    const exported = await (await app()).inject({ method: "GET", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${manage}` } });
    expect(exported.statusCode).toBe(200);
    const votes = exported.json<{ votes: { arxivId: string; vote: string }[] }>().votes;
    expect(votes.map((v) => v.vote).sort()).toEqual(["less", "more"]);

    const erased = await (await app()).inject({ method: "DELETE", url: "/api/subscriptions/me", headers: { authorization: `Bearer ${manage}` } });
    expect(erased.statusCode).toBe(200);
    expect(await votesOf(subscriberId)).toEqual([]);
    // The old links are revoked with everything else.
    expect((await post("/feedback", { token: feedbackToken(ctx(), who, paperIds[0]!, 1) })).statusCode).toBe(403);
    expect(await votesOf(subscriberId)).toEqual([]);
  });
});

describe("manage page: suggested topics and recent votes", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("suggests terms the subscriber keeps liking, follows one with a click, and lists votes each with a working undo", async () => {
    const app = await rt.app();
    const ctx = { publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET };
    const { subscriberId, paperIds } = await seedOne(rt.pool, { papers: 4 });
    await rt.pool.query(`update papers set ai_keywords = '{"test-time compute","denoising diffusion"}' where id = any($1)`, [paperIds]);
    await setSubscriberTopics(rt.db, subscriberId, ["reasoning"]);
    const who = { id: subscriberId, tokenVersion: 1 };
    const form = (url: string, body: Record<string, string>) =>
      app.inject({ method: "POST", url, headers: { accept: "text/html", "content-type": "application/x-www-form-urlencoded" }, payload: new URLSearchParams(body).toString() });
    for (const id of paperIds.slice(0, 3)) await form("/feedback", { token: feedbackToken(ctx, who, id, 1) });
    await form("/feedback", { token: feedbackToken(ctx, who, paperIds[3]!, -1) });

    const manage = new URL(links.manage(ctx, who)).searchParams.get("token")!;
    const page = await app.inject({ method: "GET", url: `/manage?token=${manage}` });
    expect(page.statusCode).toBe(200);
    const suggested = [...page.body.matchAll(/name="topic" value="([^"]*)"/g)].map((m) => m[1]!);
    expect(suggested.length).toBeGreaterThan(0);
    expect(suggested.length).toBeLessThanOrEqual(5);
    expect(suggested).toContain("test-time compute");
    // Already followed: not suggested again.
    expect(suggested).not.toContain("reasoning");
    expect([...page.body.matchAll(/<strong>(More|Less) like this<\/strong>/g)]).toHaveLength(4);

    const added = await form("/manage/topics/add", { token: manage, topic: "test-time compute" });
    expect(added.statusCode).toBe(200);
    expect(added.body).toContain("You now follow “test-time compute”");
    const topics = (await rt.pool.query<{ label: string }>("select label from subscriber_topics where subscriber_id = $1 order by label", [subscriberId])).rows.map((r) => r.label);
    expect(topics).toEqual(["reasoning", "test-time compute"]);
    expect([...added.body.matchAll(/name="topic" value="([^"]*)"/g)].map((m) => m[1])).not.toContain("test-time compute");
    // A hostile topic is refused with a page, and nothing is saved.
    const bad = await form("/manage/topics/add", { token: manage, topic: "x".repeat(5000) });
    expect(bad.statusCode).toBe(400);
    expect((await rt.pool.query("select 1 from subscriber_topics where subscriber_id = $1", [subscriberId])).rowCount).toBe(2);

    const undone = await form("/manage/votes/undo", { token: manage, paper: String(paperIds[3]) });
    expect(undone.statusCode).toBe(200);
    expect(undone.body).toContain("Vote removed.");
    expect((await rt.pool.query("select paper_id from votes where subscriber_id = $1", [subscriberId])).rowCount).toBe(3);
    // A form that names no paper is refused, saying so; nothing is removed.
    for (const paper of ["abc", "-1", "99999999999999999999", ""]) {
      const broken = await form("/manage/votes/undo", { token: manage, paper });
      expect(broken.statusCode).toBe(400);
      expect(broken.body).toContain("No vote was removed: the form did not name a paper.");
    }
    expect((await rt.pool.query("select paper_id from votes where subscriber_id = $1", [subscriberId])).rowCount).toBe(3);
    // Another subscriber's manage token cannot touch these votes.
    const other = await seedOne(rt.pool, { papers: 1 });
    const otherManage = new URL(links.manage(ctx, { id: other.subscriberId, tokenVersion: 1 })).searchParams.get("token")!;
    await form("/manage/votes/undo", { token: otherManage, paper: String(paperIds[0]) });
    expect((await rt.pool.query("select paper_id from votes where subscriber_id = $1", [subscriberId])).rowCount).toBe(3);
    const theirs = await app.inject({ method: "GET", url: `/manage?token=${otherManage}` });
    expect(theirs.body).toContain("No votes yet.");
  });
});
