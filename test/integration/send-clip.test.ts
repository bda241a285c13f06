import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTML_BUDGET } from "../../src/digests/render.js";
import { buildDigestSender } from "../../src/digests/sender.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** A big digest, sent for real: what arrives is under Gmail's clip with its footer, and the rest is one click away. */
describe("a 50-paper digest with highlights everywhere", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test", POSTAL_ADDRESS: "paperboy, 1 Example Street, 10115 Berlin, Germany" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("arrives under 100 KB of HTML with its footer, and its 'more papers' link opens every paper", async () => {
    const { digestId } = await seedOne(rt.pool, {
      papers: 50,
      // Every word of a long title is one of the digest's matched words.
      title: (i) => `${"diffusion test-time compute ".repeat(12)}${i}`,
      abstractChars: 3000,
    });
    const sender = buildDigestSender(rt, rt.renderer);
    await sender.sendBatch([digestId]);
    const [msg] = await rt.sink.waitFor(1);
    const html = String(msg!.parsed.html);
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(HTML_BUDGET);
    expect(html).toContain("Unsubscribe</a>");
    expect(html).toContain("Manage topics</a>");
    expect(html).toContain("10115 Berlin, Germany");

    const more = /(\d+) more papers in your browser:\s+(\S+)/.exec(msg!.parsed.text ?? "");
    expect(more, msg!.parsed.text).not.toBeNull();
    const shown = (html.match(/font-size:17px;font-weight:700/g) ?? []).length;
    expect(shown + Number(more![1])).toBe(50);
    expect(shown).toBeGreaterThan(10);

    const u = new URL(more![2]!);
    const res = await (await rt.app()).inject({ method: "GET", url: `${u.pathname}${u.search}`, headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(200);
    expect((res.body.match(/font-size:17px;font-weight:700/g) ?? []).length).toBe(50);
    expect(res.body).not.toContain("more papers in your browser");
  });
});
