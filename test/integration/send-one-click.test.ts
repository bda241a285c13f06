/**
 * The List-Unsubscribe header's target is served by the subscribers routes
 * (POST /unsubscribe/one-click); this test needs both branches merged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { digestRow, seedDigest, seedOne, seedPapers } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

describe("one-click unsubscribe from the List-Unsubscribe header", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("a mail client's RFC 8058 POST unsubscribes, and the next digest is not sent", async () => {
    const { digestId, subscriberId } = await seedOne(rt.pool);
    const next = await seedDigest(rt.pool, subscriberId, await seedPapers(rt.pool, 1), "2026-11-29");
    const sender = buildDigestSender(rt, rt.renderer);
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    const line = msg!.parsed.headerLines.find((h) => h.key === "list-unsubscribe")?.line ?? "";
    const target = /<(https?:\/\/[^>]+)>/.exec(line.replace(/\r\n[ \t]+/g, " "))?.[1];
    expect(target).toBeDefined();
    const url = new URL(target!);

    // What Gmail and Apple Mail send: a bare POST with this one form field, no cookies.
    const app = await rt.app();
    const res = await app.inject({
      method: "POST",
      url: `${url.pathname}${url.search}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "List-Unsubscribe=One-Click",
    });
    expect(res.statusCode).toBe(200);
    const sub = await rt.pool.query<{ status: string }>("select status from subscribers where id = $1", [subscriberId]);
    expect(sub.rows[0]?.status).toBe("unsubscribed");

    expect(await sender.sendBatch([next])).toMatchObject({ sent: 0, skipped: 1 });
    expect((await digestRow(rt.pool, next)).status).toBe("skipped");
    expect(rt.sink.messages).toHaveLength(1);
  });
});
