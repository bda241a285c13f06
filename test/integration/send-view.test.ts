import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { links } from "../../src/subscribers/links.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

describe("GET /digests/:id (view in browser)", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const ctx = () => ({ publicUrl: rt.config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET });
  const get = async (url: string) => (await rt.app()).inject({ method: "GET", url, headers: { accept: "text/html" } });
  const pathOf = (u: string) => {
    const x = new URL(u);
    return `${x.pathname}${x.search}`;
  };

  it("shows the same HTML the email carried, from the link in the email", async () => {
    const { digestId } = await seedOne(rt.pool, { papers: 2, title: (i) => `<b>Bold</b> diffusion ${i}` });
    const sender = buildDigestSender(rt, rt.renderer);
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    const viewLink = /View in browser:\s+(\S+)/.exec(msg!.parsed.text ?? "")?.[1];
    expect(viewLink).toBeDefined();
    const res = await get(pathOf(viewLink!));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toBe(msg!.parsed.html);
    expect(res.body).toContain("&lt;b&gt;Bold&lt;/b&gt;");
  });

  it("refuses another subscriber's token, a wrong purpose and a revoked token with a friendly 403 page", async () => {
    const mine = await seedOne(rt.pool);
    const other = await seedOne(rt.pool);
    const otherLink = links.viewDigest(ctx(), { id: other.subscriberId, tokenVersion: 1 }, mine.digestId);
    const manageLink = links.manage(ctx(), { id: mine.subscriberId, tokenVersion: 1 }).replace("/manage", `/digests/${mine.digestId}`);
    for (const link of [otherLink, manageLink, `/digests/${mine.digestId}?token=garbage`]) {
      const res = await get(link.startsWith("/") ? link : pathOf(link));
      expect(res.statusCode, link).toBe(403);
      expect(res.headers["content-type"]).toContain("text/html");
      expect(res.body).toContain("This link is not valid");
    }
    const good = links.viewDigest(ctx(), { id: mine.subscriberId, tokenVersion: 1 }, mine.digestId);
    expect((await get(pathOf(good))).statusCode).toBe(200);
    await rt.pool.query("update subscribers set token_version = 2 where id = $1", [mine.subscriberId]);
    expect((await get(pathOf(good))).statusCode).toBe(403);
  });

  it("answers a missing token with a 400 page, not JSON", async () => {
    const res = await get("/digests/1");
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toContain("text/html");
  });
});
