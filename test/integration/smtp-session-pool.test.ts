import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Mailer } from "../../src/mail/mailer.js";
import { createSmtpMailer } from "../../src/mail/transport.js";
import { messageId, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

/**
 * MAIL_FAST_PATHS sends through our pool of nodemailer SMTP sessions (mail/smtp-pool.ts)
 * instead of nodemailer's pooled transport. What the relay sees must be what
 * nodemailer's pool would show it: no more sessions than SMTP_POOL_SIZE, sessions
 * reused, a refused message not costing the session, a dropped session replaced.
 */
let sink: SmtpSink;
const mailers: Mailer[] = [];

function mailer(poolSize: number): Mailer {
  const m = createSmtpMailer({ url: sink.url, from: "paperboy <digest@paperboy.test>", poolSize, timeoutMs: 5_000, sessionPool: true });
  mailers.push(m);
  return m;
}

/** A finished message as the MIME writer makes one: CRLF lines, and lines that start with a dot (MJML's CSS has them). */
function raw(n: number, to: string): Buffer {
  return Buffer.from(
    [
      "From: paperboy <digest@paperboy.test>",
      `To: ${to}`,
      `Subject: Digest ${n}`,
      `Message-ID: <digest-${n}@paperboy.test>`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=us-ascii",
      "",
      `Hello ${n}`,
      ".papers { color: red }",
      "..two dots",
      ".",
      "end",
      "",
    ].join("\r\n"),
  );
}

const waitUntil = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterEach(async () => {
  await Promise.all(mailers.splice(0).map((m) => m.close()));
  sink.respond(undefined);
  sink.messages.length = 0;
  await waitUntil(() => sink.sessions().open === 0);
});
afterAll(() => sink.close());

describe("the SMTP session pool", () => {
  it("opens no more sessions than the pool size, reuses them, and the relay gets the bytes unchanged (dots included)", async () => {
    const before = sink.sessions().total;
    const m = mailer(3);
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => m.sendRaw({ from: "digest@paperboy.test", to: `r${i}@example.org` }, raw(i, `r${i}@example.org`), `<digest-${i}@paperboy.test>`)),
    );
    expect(sent.map((s) => s.accepted)).toEqual(Array.from({ length: 20 }, (_, i) => [`r${i}@example.org`]));
    expect(sent[0]?.messageId).toBe("<digest-0@paperboy.test>");
    const got = await sink.waitFor(20);
    const s = sink.sessions();
    expect(s.total - before).toBe(3);
    expect(s.peak).toBeLessThanOrEqual(3);
    const seven = got.find((g) => messageId(g) === "<digest-7@paperboy.test>");
    expect(seven?.envelope).toEqual({ from: "digest@paperboy.test", to: ["r7@example.org"] });
    // The relay un-stuffs the dots: it has exactly the message we handed over.
    expect(seven?.raw.toString()).toBe(raw(7, "r7@example.org").toString());
  });

  it("a message the relay refuses (550) costs only that message: the same session sends the next one", async () => {
    const before = sink.sessions().total;
    const m = mailer(1);
    sink.respond(({ to }) => (to.includes("gone@example.org") ? { code: 550, message: "5.1.1 No such user" } : undefined));
    const refused = await m.sendRaw({ from: "digest@paperboy.test", to: "gone@example.org" }, raw(1, "gone@example.org"), "<digest-1@paperboy.test>").catch((e: unknown) => e);
    expect((refused as { responseCode?: number }).responseCode).toBe(550);
    await m.sendRaw({ from: "digest@paperboy.test", to: "here@example.org" }, raw(2, "here@example.org"), "<digest-2@paperboy.test>");
    expect((await sink.waitFor(1)).map(messageId)).toEqual(["<digest-2@paperboy.test>"]);
    expect(sink.sessions().total - before).toBe(1);
  });

  it("a session the relay closed while idle is replaced: the next message goes out on a new one", async () => {
    const before = sink.sessions().total;
    const m = mailer(1);
    await m.sendRaw({ from: "digest@paperboy.test", to: "a@example.org" }, raw(1, "a@example.org"), "<digest-1@paperboy.test>");
    sink.dropSessions();
    await waitUntil(() => sink.sessions().open === 0);
    await m.sendRaw({ from: "digest@paperboy.test", to: "b@example.org" }, raw(2, "b@example.org"), "<digest-2@paperboy.test>");
    expect((await sink.waitFor(2)).map(messageId)).toEqual(["<digest-1@paperboy.test>", "<digest-2@paperboy.test>"]);
    expect(sink.sessions().total - before).toBe(2);
  });

  it("composed mail (a confirmation) goes through the same sessions, composed by nodemailer", async () => {
    const before = sink.sessions().total;
    const m = mailer(1);
    await m.sendRaw({ from: "digest@paperboy.test", to: "a@example.org" }, raw(1, "a@example.org"), "<digest-1@paperboy.test>");
    const r = await m.send({ to: "new@example.org", subject: "Confirm your paperboy subscription", html: "<p>Confirm ✓</p>", text: "Confirm ✓", messageId: "<c-1@paperboy.test>" });
    expect(r.messageId).toBe("<c-1@paperboy.test>");
    const [, confirm] = await sink.waitFor(2);
    expect(confirm?.parsed.subject).toBe("Confirm your paperboy subscription");
    expect(confirm?.parsed.text?.trim()).toBe("Confirm ✓");
    expect(confirm?.parsed.from?.value[0]).toEqual({ name: "paperboy", address: "digest@paperboy.test" });
    expect(confirm?.envelope).toEqual({ from: "digest@paperboy.test", to: ["new@example.org"] });
    expect(sink.sessions().total - before).toBe(1);
  });

  it("after close() a send fails as the relay being away, and nothing is left open", async () => {
    const m = mailer(2);
    await m.sendRaw({ from: "digest@paperboy.test", to: "a@example.org" }, raw(1, "a@example.org"), "<digest-1@paperboy.test>");
    await m.close();
    await waitUntil(() => sink.sessions().open === 0);
    expect(sink.sessions().open).toBe(0);
    const err = await m.sendRaw({ from: "digest@paperboy.test", to: "b@example.org" }, raw(2, "b@example.org"), "<digest-2@paperboy.test>").catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ECONNECTION");
  });
});
