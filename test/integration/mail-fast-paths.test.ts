/**
 * MAIL_FAST_PATHS: with it off, a digest goes out on the plain path (Handlebars,
 * nodemailer composing, nodemailer's own SMTP data stream) and the process says so;
 * with it on, the same digest arrives with the same content and headers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { installMailFastPaths } from "../../src/main/fast-paths.js";
import { nodemailerDataStream } from "../../src/mail/data-stream.js";
import type { SinkMessage } from "../helpers/smtp-sink.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { buildDigestRenderer } from "../../src/main/services.js";

/** The gauge's value per path, as Prometheus scrapes it from GET /metrics. */
async function engaged(rt: TestRuntime): Promise<Record<string, number>> {
  const app = await rt.app();
  const res = await app.inject({ method: "GET", url: "/metrics" });
  const out: Record<string, number> = {};
  for (const m of res.body.matchAll(/^paperboy_mail_fast_path_engaged\{path="([a-z_]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** A header as a reader's client sees it: unfolded, without its name. */
function header(msg: SinkMessage, name: string): string | undefined {
  const line = msg.parsed.headerLines.find((h) => h.key === name)?.line;
  return line?.replace(/\r?\n[ \t]+/g, " ").slice(name.length + 1).trim();
}

describe("MAIL_FAST_PATHS", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_FAST_PATHS: "false", MAIL_DOMAIN: "paperboy.test", LIST_UNSUBSCRIBE_MAILTO: "leave@paperboy.test" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("false sends through the plain path and says so; true sends the same digest, byte for byte, on the fast paths", async () => {
    // Off: nodemailer's SMTP data stream is left as nodemailer ships it, and /metrics says every path is off.
    const stream = await nodemailerDataStream();
    expect(stream).not.toBeNull();
    expect(stream!.ctor.prototype._transform).toBe(stream!.original);
    const { digestId } = await seedOne(rt.pool, { email: "reader@example.org", papers: 4, title: (i) => `Diffusion & <reasoning> “${i}”` });
    const plain = buildDigestSender(rt, rt.renderer);
    expect(await engaged(rt)).toEqual({ data_stream: 0, mime_writer: 0, template_fill: 0, session_pool: 0 });
    expect(await plain.sendBatch([digestId])).toMatchObject({ sent: 1 });
    const [slow] = await rt.sink.waitFor(1);
    // nodemailer composed it: its boundary, not the MIME writer's.
    expect(slow!.raw.toString("latin1")).not.toContain("=_paperboy_");
    expect(slow!.raw.toString("latin1")).toMatch(/boundary="--_NmP-/);

    // On: what an entry point does at start, then the same digest once more.
    await rt.pool.query("update digests set status = 'queued', sent_at = null where id = $1", [digestId]);
    const fastConfig = { ...rt.config, MAIL_FAST_PATHS: true };
    expect(await installMailFastPaths(fastConfig, rt.logger, rt.metrics)).toEqual({ enabled: true, dataStream: true });
    expect(stream!.ctor.prototype._transform).not.toBe(stream!.original);
    const fast = buildDigestSender({ ...rt, config: fastConfig }, await buildDigestRenderer(fastConfig));
    expect(await engaged(rt)).toEqual({ data_stream: 1, mime_writer: 1, template_fill: 1, session_pool: 1 });
    expect(await fast.sendBatch([digestId])).toMatchObject({ sent: 1 });
    const [, quick] = await rt.sink.waitFor(2);
    expect(quick!.raw.toString("latin1")).toContain("=_paperboy_");

    // What the reader gets is the same on both paths.
    expect(quick!.parsed.html).toBe(slow!.parsed.html);
    expect(quick!.parsed.text).toBe(slow!.parsed.text);
    expect(quick!.parsed.subject).toBe(slow!.parsed.subject);
    expect(quick!.parsed.messageId).toBe(slow!.parsed.messageId);
    expect(quick!.envelope).toEqual(slow!.envelope);
    for (const name of ["from", "to", "list-id", "list-unsubscribe", "list-unsubscribe-post"]) {
      expect(header(quick!, name), name).toBe(header(slow!, name));
      expect(header(quick!, name), name).toBeTruthy();
    }
    expect(header(quick!, "list-unsubscribe")).toMatch(/^<http:\/\/paperboy\.test\/unsubscribe\/one-click\?token=[^>]+>, <mailto:leave@paperboy\.test\?subject=unsubscribe>$/);
    expect(header(quick!, "list-id")).toBe("paperboy <digest.paperboy.localhost>");
  });
});
