import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import type { DigestSender } from "../../src/digests/send.js";
import { verifyFeedbackToken, verifyToken } from "../../src/subscribers/tokens.js";
import { digestRow, seedDigest, seedOne, seedPapers } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

const header = (raw: Buffer, name: string): string | undefined => {
  const head = raw.toString("utf8").split("\r\n\r\n")[0] ?? "";
  const unfolded = head.replace(/\r\n[ \t]+/g, " ");
  const line = unfolded.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
};

describe("send pipeline", () => {
  let rt: TestRuntime;
  let sender: DigestSender;
  beforeAll(async () => {
    rt = await createTestRuntime({
      MAIL_FROM: "paperboy <digest@paperboy.test>",
      MAIL_DOMAIN: "paperboy.test",
      LIST_ID: "digest.paperboy.test",
      LIST_UNSUBSCRIBE_MAILTO: "unsubscribe@paperboy.test",
      SEND_RATE_PER_SECOND: "100000",
      BOUNCE_LIMIT: "1",
      SEND_MAX_ATTEMPTS: "3",
    });
    sender = buildDigestSender(rt, rt.renderer);
  });
  afterAll(async () => {
    await rt?.close();
  });
  beforeEach(() => {
    rt.sink.respond(undefined);
    rt.sink.messages.length = 0;
  });

  it("sends a digest with exactly the headers the issue asks for, a text part and tokened links", async () => {
    const { digestId, subscriberId } = await seedOne(rt.pool, { email: "jane@example.org", papers: 3 });
    const result = await sender.sendBatch([digestId]);
    expect(result).toMatchObject({ sent: 1, skipped: 0, bounced: 0, deferred: 0 });
    const [msg] = await rt.sink.waitFor(1);
    const raw = msg!.raw;
    expect(header(raw, "From")).toBe("paperboy <digest@paperboy.test>");
    expect(header(raw, "To")).toBe("jane@example.org");
    expect(header(raw, "Subject")).toMatch(/^Diffusion reasoning at test-time compute scale \d+, and 2 more on diffusion, test-time compute$/);
    expect(header(raw, "Message-ID")).toBe(`<digest-${digestId}@paperboy.test>`);
    expect(header(raw, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
    expect(header(raw, "List-Id")).toBe("paperboy <digest.paperboy.test>");
    const lu = header(raw, "List-Unsubscribe") ?? "";
    const m = /^<(https:\/\/[^>]+|http:\/\/[^>]+)>, <mailto:unsubscribe@paperboy\.test\?subject=unsubscribe>$/.exec(lu);
    expect(m, lu).not.toBeNull();
    const oneClick = new URL(m![1]!);
    expect(`${oneClick.origin}${oneClick.pathname}`).toBe("http://paperboy.test/unsubscribe/one-click");
    expect(verifyToken(rt.config.TOKEN_SECRET, oneClick.searchParams.get("token") ?? "", "unsubscribe").subscriberId).toBe(subscriberId);
    expect(msg!.envelope).toEqual({ from: "digest@paperboy.test", to: ["jane@example.org"] });

    const parsed = msg!.parsed;
    expect(parsed.text).toContain("because you follow: diffusion, test-time compute");
    // A link too long for a 78-character line stands on the next line, whole.
    expect(parsed.text).toMatch(/^Unsubscribe:\s+http:\/\/paperboy\.test\/unsubscribe\?token=\S+$/m);
    const html = typeof parsed.html === "string" ? parsed.html : "";
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((x) => (x[1] ?? "").replace(/&#x3D;/g, "=").replace(/&amp;/g, "&"));
    const purposes: Record<string, "manage" | "unsubscribe" | "view"> = { "/manage": "manage", "/unsubscribe": "unsubscribe", [`/digests/${digestId}`]: "view" };
    let own = 0;
    for (const href of hrefs) {
      const u = new URL(href); // throws on a relative link
      if (u.origin !== "http://paperboy.test") continue;
      own++;
      const feed = /^\/feed\/(.+)\.atom$/.exec(u.pathname);
      if (feed) {
        expect(verifyToken(rt.config.TOKEN_SECRET, feed[1]!, "feed").subscriberId).toBe(subscriberId);
        continue;
      }
      if (u.pathname === "/feedback") {
        expect(verifyFeedbackToken(rt.config.TOKEN_SECRET, u.searchParams.get("token") ?? "").subscriberId).toBe(subscriberId);
        continue;
      }
      const purpose = purposes[u.pathname];
      expect(purpose, href).toBeDefined();
      expect(verifyToken(rt.config.TOKEN_SECRET, u.searchParams.get("token") ?? "", purpose!).subscriberId).toBe(subscriberId);
    }
    expect(own).toBeGreaterThanOrEqual(4);

    const row = await digestRow(rt.pool, digestId);
    expect(row).toMatchObject({ status: "sent", attempts: 1, message_id: `<digest-${digestId}@paperboy.test>`, error: null });
    expect(row.sent_at).toBeInstanceOf(Date);
  });

  it("names matched topics as the subscriber typed them", async () => {
    const { digestId, subscriberId } = await seedOne(rt.pool, { email: "kim@example.org", papers: 2 });
    // Kim follows "Diffusion" in her own spelling; "test-time compute" she has stopped following since.
    await rt.pool.query(
      `insert into subscriber_topics (subscriber_id, topic_id, label) select $1, id, 'Diffusion' from topics where query = 'diffusion'`,
      [subscriberId],
    );
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    expect(msg!.parsed.subject).toMatch(/, and 1 more on Diffusion, test-time compute$/);
    expect(msg!.parsed.text).toContain("because you follow: Diffusion, test-time compute");
  });

  it("never sends a digest twice, whether the job is retried or duplicated", async () => {
    const { digestId } = await seedOne(rt.pool);
    const results = await Promise.all([sender.sendBatch([digestId]), sender.sendBatch([digestId]), sender.sendBatch([digestId, digestId])]);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(1);
    await sender.sendBatch([digestId]);
    await rt.sink.waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(rt.sink.messages.filter((m) => m.parsed.messageId === `<digest-${digestId}@paperboy.test>`)).toHaveLength(1);
  });

  it("sends a paper title containing <script> escaped", async () => {
    const { digestId } = await seedOne(rt.pool, { papers: 1, title: () => `<script>alert("pwned")</script> Diffusion & friends` });
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    const html = String(msg!.parsed.html);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
    expect(msg!.parsed.text).toContain(`<script>alert("pwned")</script> Diffusion & friends`);
  });

  it("does not send a queued digest once the subscriber unsubscribed (or paused)", async () => {
    const a = await seedOne(rt.pool);
    const b = await seedOne(rt.pool);
    await rt.pool.query("update subscribers set status = 'unsubscribed', unsubscribed_at = now() where id = $1", [a.subscriberId]);
    await rt.pool.query("update subscribers set paused_at = now() where id = $1", [b.subscriberId]);
    const result = await sender.sendBatch([a.digestId, b.digestId]);
    expect(result).toMatchObject({ sent: 0, skipped: 2 });
    expect(await digestRow(rt.pool, a.digestId)).toMatchObject({ status: "skipped", error: "subscriber unsubscribed" });
    expect(await digestRow(rt.pool, b.digestId)).toMatchObject({ status: "skipped", error: "subscriber paused" });
    expect(rt.sink.messages).toHaveLength(0);
  });

  it("550 marks the digest bounced, records the event and suppresses the subscriber", async () => {
    const { digestId, subscriberId } = await seedOne(rt.pool, { email: "gone@example.org" });
    const later = await seedDigest(rt.pool, subscriberId, await seedPapers(rt.pool, 1), "2026-11-29");
    rt.sink.respond(() => ({ code: 550, message: "5.1.1 mailbox unavailable" }));
    const result = await sender.sendBatch([digestId]);
    expect(result).toMatchObject({ sent: 0, bounced: 1 });
    const row = await digestRow(rt.pool, digestId);
    expect(row.status).toBe("bounced");
    expect(row.error).toContain("550");
    const sub = await rt.pool.query("select status, bounce_count from subscribers where id = $1", [subscriberId]);
    expect(sub.rows[0]).toEqual({ status: "bounced", bounce_count: 1 });
    const ev = await rt.pool.query("select type, permanent, source, digest_id from email_events where subscriber_id = $1", [subscriberId]);
    expect(ev.rows).toEqual([{ type: "bounce", permanent: true, source: "smtp", digest_id: digestId }]);
    // Suppressed: the next digest is not sent even when the server would take it.
    rt.sink.respond(undefined);
    expect(await sender.sendBatch([later])).toMatchObject({ sent: 0, skipped: 1 });
    expect(rt.sink.messages).toHaveLength(0);
  });

  it("a 4xx puts the digest back in the queue without spending an attempt, and a busy server stops the batch", async () => {
    const { digestId } = await seedOne(rt.pool);
    rt.sink.respond(() => ({ code: 451, message: "4.3.0 try again later" }));
    for (let i = 0; i < 4; i++) {
      expect(await sender.sendBatch([digestId])).toMatchObject({ deferred: 1, failed: 0, throttled: true });
      const row = await digestRow(rt.pool, digestId);
      expect(row).toMatchObject({ status: "queued", attempts: 0 });
      expect(row.error).toContain("451");
    }
    // A batch meets the busy server on as many digests in a row as it has lanes (plus what
    // the other lanes had in flight meanwhile), then stops claiming: the rest is not tried.
    const many = await Promise.all(Array.from({ length: 20 }, () => seedOne(rt.pool)));
    const lanes = Math.max(1, Math.ceil(rt.config.SMTP_POOL_SIZE / rt.config.SEND_CONCURRENCY));
    const r = await sender.sendBatch(many.map((m) => m.digestId));
    expect(r).toMatchObject({ sent: 0, throttled: true });
    expect(r.deferred).toBeGreaterThanOrEqual(lanes);
    expect(r.deferred).toBeLessThan(2 * lanes);
    expect(r.deferred + r.held).toBe(20);
    // The caller gives up on what is still queued (the retry window ran out).
    expect(await sender.failQueued([digestId], "relay busy")).toBe(1);
    expect(await digestRow(rt.pool, digestId)).toMatchObject({ status: "failed", attempts: 0, error: "relay busy" });
    rt.sink.respond(undefined);
    expect(await sender.sendBatch(many.map((m) => m.digestId))).toMatchObject({ sent: 20, deferred: 0, held: 0 });
  });

  it("fails a digest whose claims keep dying with their worker instead of taking it over again", async () => {
    const { digestId } = await seedOne(rt.pool);
    // SEND_MAX_ATTEMPTS=3 claims, each left in sending past its lease by a dead worker.
    await rt.pool.query("update digests set status = 'sending', claimed_at = now() - interval '1 hour', attempts = 3 where id = $1", [digestId]);
    expect(await sender.sendBatch([digestId])).toMatchObject({ sent: 0, failed: 1, leased: 0 });
    const row = await digestRow(rt.pool, digestId);
    expect(row).toMatchObject({ status: "failed", attempts: 3 });
    expect(row.error).toContain("stopped 3 times");
    expect(rt.sink.messages).toHaveLength(0);
  });

  it("leaves a digest claimed by a live worker alone, and re-sends it with the same Message-ID once the lease ran out", async () => {
    const { digestId } = await seedOne(rt.pool);
    await rt.pool.query("update digests set status = 'sending', claimed_at = now(), attempts = 1 where id = $1", [digestId]);
    const held = await sender.sendBatch([digestId]);
    expect(held).toMatchObject({ sent: 0, leased: 1 });
    expect(held.leaseWaitMs).toBeGreaterThan(60_000);
    await rt.pool.query("update digests set claimed_at = now() - interval '1 hour' where id = $1", [digestId]);
    expect(await sender.sendBatch([digestId])).toMatchObject({ sent: 1 });
    const [msg] = await rt.sink.waitFor(1);
    expect(msg!.parsed.messageId).toBe(`<digest-${digestId}@paperboy.test>`);
    expect(await digestRow(rt.pool, digestId)).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("fills a batch with many digests correctly: each subscriber gets their own papers and links", async () => {
    const seeded = await Promise.all(Array.from({ length: 12 }, (_, i) => seedOne(rt.pool, { email: `batch${i}@example.org`, papers: 1 + (i % 4) })));
    const result = await sender.sendBatch(seeded.map((s) => s.digestId));
    expect(result.sent).toBe(12);
    const msgs = await rt.sink.waitFor(12);
    for (const s of seeded) {
      const msg = msgs.find((m) => m.parsed.messageId === `<digest-${s.digestId}@paperboy.test>`)!;
      const n = s.paperIds.length;
      expect(msg.parsed.subject).toMatch(n === 1 ? /, new on diffusion, test-time compute$/ : new RegExp(`, and ${n - 1} more on diffusion, test-time compute$`));
      const token = /digests\/(\d+)\?token=([^\s"&]+)/.exec(msg.parsed.text ?? "");
      expect(Number(token![1])).toBe(s.digestId);
      expect(verifyToken(rt.config.TOKEN_SECRET, token![2]!, "view").subscriberId).toBe(s.subscriberId);
      // Each lane sends several of these; every one ends up marked, the last of a lane too.
      expect(await digestRow(rt.pool, s.digestId)).toMatchObject({ status: "sent", message_id: `<digest-${s.digestId}@paperboy.test>`, error: null });
    }
  });
});
