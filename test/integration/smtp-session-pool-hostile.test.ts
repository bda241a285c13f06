import { connect, createServer, type Server, type Socket } from "node:net";
import { SMTPServer, type SMTPServerAuthentication } from "smtp-server";
import { afterEach, describe, expect, it } from "vitest";
import { classifySmtpError } from "../../src/digests/send.js";
import type { Mailer } from "../../src/mail/mailer.js";
import { createSmtpMailer } from "../../src/mail/transport.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

/**
 * Relays that misbehave, against MAIL_FAST_PATHS' session pool (mail/smtp-pool.ts). Every
 * send must settle within the configured timeouts, with an error the digest sender
 * classifies as a relay problem (transient) unless the recipient was refused.
 */
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function mailer(url: string, poolSize: number, timeoutMs = 2_000, sessionPool = true): Mailer {
  const m = createSmtpMailer({ url, from: "paperboy <digest@paperboy.test>", poolSize, timeoutMs, sessionPool });
  closers.push(() => m.close());
  return m;
}

const raw = (n: number) => Buffer.from(`From: digest@paperboy.test\r\nTo: r${n}@example.org\r\nSubject: ${n}\r\nMessage-ID: <digest-${n}@paperboy.test>\r\n\r\nHello ${n}\r\n`);
const send = (m: Mailer, n: number) => m.sendRaw({ from: "digest@paperboy.test", to: `r${n}@example.org` }, raw(n), `<digest-${n}@paperboy.test>`);

/** What a promise came to within `ms`: "pending" if it did not settle. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ ok: T } | { err: unknown } | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"pending">((r) => (timer = setTimeout(() => r("pending"), ms)));
  const r = await Promise.race([p.then((ok) => ({ ok }), (err: unknown) => ({ err })), late]);
  clearTimeout(timer);
  return r;
}

/** A raw TCP "relay" scripted per connection. */
async function rawRelay(onSocket: (s: Socket) => void): Promise<{ url: string; connections: () => number; server: Server }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { url: `smtp://127.0.0.1:${port}`, connections: () => connections, server };
}

async function sink(): Promise<SmtpSink> {
  const s = await startSmtpSink({ parse: false });
  closers.push(() => s.close());
  return s;
}

/** A relay that offers AUTH (and answers it with `onAuth`) and takes every message; its port. */
async function authRelay(onAuth: (auth: SMTPServerAuthentication, cb: (err: Error | null | undefined, res?: { user: string }) => void) => void): Promise<number> {
  const server = new SMTPServer({
    disableReverseLookup: true,
    logger: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth: (auth, _session, cb) => onAuth(auth, cb),
    onData(stream, _s, cb) {
      stream.resume();
      stream.on("end", () => cb());
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.server.address() as { port: number }).port;
}

describe("the SMTP session pool against hostile relays", () => {
  it("close() while a message is in flight settles that send (a transient error), it does not hang", async () => {
    const relay = await sink();
    let release: () => void = () => undefined;
    relay.respond(() => new Promise((r) => (release = () => r(undefined))));
    closers.push(() => release());
    const m = mailer(relay.url, 1, 5_000);
    const inFlight = send(m, 1);
    await relay.waitFor(0);
    for (let i = 0; i < 100 && relay.sessions().open === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await m.close();
    const r = await within(inFlight, 1_000);
    expect(r).not.toBe("pending");
    expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
  });

  it("close() while sends wait for a session rejects the waiting ones and the one in flight", async () => {
    const relay = await sink();
    let release: () => void = () => undefined;
    relay.respond(() => new Promise((r) => (release = () => r(undefined))));
    closers.push(() => release());
    const m = mailer(relay.url, 1, 5_000);
    const sends = [1, 2, 3].map((n) => send(m, n));
    await new Promise((r) => setTimeout(r, 200));
    await m.close();
    const results = await Promise.all(sends.map((p) => within(p, 1_000)));
    expect(results.filter((r) => r === "pending")).toHaveLength(0);
  });

  it("a wrong AUTH password is a clean, quick error that does not bounce the subscriber; the right one sends", async () => {
    let logins = 0;
    const port = await authRelay((auth, cb) => {
      logins++;
      if (auth.username === "user" && auth.password === "p@ss") cb(null, { user: "user" });
      else cb(Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }));
    });

    for (const sessionPool of [true, false]) {
      const wrong = mailer(`smtp://user:wrong@127.0.0.1:${port}`, 2, 2_000, sessionPool);
      const r = await within(send(wrong, 1), 3_000);
      expect(r).not.toBe("pending");
      // The relay refused our credentials, not the recipient: a 535 must not mark the digest (and the subscriber) bounced.
      expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    }
    const right = mailer(`smtp://user:p%40ss@127.0.0.1:${port}`, 2);
    await expect(send(right, 2)).resolves.toMatchObject({ accepted: ["r2@example.org"] });
    expect(logins).toBeGreaterThanOrEqual(3);
  });

  it("a relay that wants AUTH we did not give (530 to MAIL FROM) is the relay's problem, not the recipient's", async () => {
    const port = await authRelay((_auth, cb) => cb(null, { user: "user" }));
    for (const sessionPool of [true, false]) {
      const m = mailer(`smtp://127.0.0.1:${port}`, 1, 2_000, sessionPool);
      const r = await within(send(m, 1), 3_000);
      expect(r !== "pending" && "err" in r && (r.err as { responseCode?: number }).responseCode).toBe(530);
      expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    }
  });

  it("a relay that refuses service at the greeting (554) is the relay's problem, not the recipient's", async () => {
    const relay = await rawRelay((s) => s.end("554 5.7.1 No SMTP service here\r\n"));
    for (const sessionPool of [true, false]) {
      const m = mailer(relay.url, 1, 2_000, sessionPool);
      const r = await within(send(m, 1), 3_000);
      expect(r).not.toBe("pending");
      expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    }
  });

  it("421 at the greeting: every send fails quickly as transient, and nothing stays open", async () => {
    const relay = await rawRelay((s) => s.end("421 4.3.2 Too busy, try later\r\n"));
    const m = mailer(relay.url, 2);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => within(send(m, n), 3_000)));
    for (const r of results) expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    expect(relay.connections()).toBe(5);
  });

  it("a relay that never greets: sends fail at the greeting timeout, a pool size at a time", async () => {
    const relay = await rawRelay(() => undefined);
    const m = mailer(relay.url, 2, 300);
    const t0 = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => within(send(m, n), 5_000)));
    for (const r of results) expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    expect(relay.connections()).toBe(5);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("close() while a session is still being opened: the send fails at once and nothing is sent after close", async () => {
    const relay = await sink();
    // Greets half a second late (a slow relay), then relays to the sink.
    const slow = await rawRelay((c) => {
      const up = connect(relay.port, "127.0.0.1");
      let greeted = false;
      const held: Buffer[] = [];
      up.on("data", (d: Buffer) => (greeted ? c.write(d) : held.push(d)));
      setTimeout(() => {
        greeted = true;
        for (const d of held.splice(0)) c.write(d);
      }, 500);
      c.on("data", (d: Buffer) => up.write(d));
      c.on("close", () => up.destroy());
      up.on("close", () => c.destroy());
      up.on("error", () => c.destroy());
    });
    const m = mailer(slow.url, 1, 5_000);
    const pending = send(m, 1);
    await new Promise((r) => setTimeout(r, 100));
    await m.close();
    const r = await within(pending, 300);
    expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    await new Promise((r) => setTimeout(r, 700));
    expect(relay.messages).toHaveLength(0);
  });

  it("a relay that closes mid-DATA: the send fails as transient and the next one goes out on a new session", async () => {
    const relay = await sink();
    let n = 0;
    const real = createServer((c) => {
      const up = connect(relay.port, "127.0.0.1");
      n++;
      const first = n === 1;
      let seen = "";
      c.on("data", (d: Buffer) => {
        seen += d.toString("latin1");
        if (first && /\r\nDATA\r\n[\s\S]*Hello/.test(seen)) {
          c.destroy();
          up.destroy();
          return;
        }
        up.write(d);
      });
      up.on("data", (d: Buffer) => c.write(d));
      up.on("error", () => c.destroy());
      c.on("error", () => up.destroy());
      c.on("close", () => up.destroy());
      up.on("close", () => c.destroy());
    });
    await new Promise<void>((r) => real.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => real.close(() => r())));
    const m = mailer(`smtp://127.0.0.1:${(real.address() as { port: number }).port}`, 1);
    const r = await within(send(m, 1), 3_000);
    expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    await expect(send(m, 2)).resolves.toMatchObject({ accepted: ["r2@example.org"] });
  });

  it("a relay that answers 250 before it has read the message: the message's memory is not handed back for reuse", async () => {
    // It stops reading at DATA and answers at once, so most of an 8 MB message still waits in our socket.
    const relay = await rawRelay((s) => {
      s.write("220 early.test ESMTP\r\n");
      let seen = "";
      s.on("data", (d: Buffer) => {
        seen += d.toString("latin1");
        for (let nl = seen.indexOf("\r\n"); nl !== -1; nl = seen.indexOf("\r\n")) {
          const line = seen.slice(0, nl);
          seen = seen.slice(nl + 2);
          if (/^(EHLO|HELO)/i.test(line)) s.write("250 early.test\r\n");
          else if (/^(MAIL|RCPT)/i.test(line)) s.write("250 ok\r\n");
          else if (/^DATA/i.test(line)) {
            s.pause();
            s.write("354 go ahead\r\n250 queued before the end of data\r\n");
            return;
          }
        }
      });
    });
    const m = mailer(relay.url, 1, 5_000);
    const big = Buffer.concat([raw(1), Buffer.alloc(8 * 1024 * 1024, "abcdefghij\r\n")]);
    const r = await m.sendRaw({ from: "digest@paperboy.test", to: "r1@example.org" }, big, "<digest-1@paperboy.test>");
    expect(r.response).toMatch(/^250 queued before/);
    // Bytes of this message are still to be written: reusing its buffer now would put the next message's bytes in it.
    expect(r.flushed).toBe(false);
  });

  it("a relay that reads the whole message before it answers: the memory is free to reuse", async () => {
    const relay = await sink();
    const r = await send(mailer(relay.url, 1), 1);
    expect(r.flushed).toBe(true);
  });

  it("connections refused, then the relay comes back: sends fail fast, then succeed; no listener build-up", async () => {
    const relay = await sink();
    const port = relay.port;
    await relay.close();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    closers.push(() => process.off("warning", onWarning));
    const m = mailer(`smtp://127.0.0.1:${port}`, 2, 1_000);
    for (let round = 0; round < 15; round++) {
      const results = await Promise.all([1, 2, 3, 4, 5].map((n) => within(send(m, n), 2_000)));
      for (const r of results) expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
    }
    const back = await startSmtpSink({ parse: false, port });
    closers.push(() => back.close());
    await Promise.all([1, 2, 3, 4, 5].map((n) => send(m, n)));
    expect(back.sessions().peak).toBeLessThanOrEqual(2);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("a slow relay (each reply just under the timeout) still delivers; one slower than the timeout fails as transient", async () => {
    const relay = await sink();
    relay.respond(() => new Promise((r) => setTimeout(() => r(undefined), 400)));
    const m = mailer(relay.url, 1, 700);
    await expect(send(m, 1)).resolves.toMatchObject({ accepted: ["r1@example.org"] });
    relay.respond(() => new Promise((r) => setTimeout(() => r(undefined), 1_500)));
    const r = await within(send(m, 2), 1_400);
    expect(r !== "pending" && "err" in r && classifySmtpError(r.err)).toBe("transient");
  });
});
