import { describe, expect, it } from "vitest";
import { dotStuffed, installDataStreamFastPath, nodemailerDataStream, passesThrough, type DataStreamClass, type Transform } from "../../src/mail/data-stream.js";
import { createMimeWriter } from "../../src/mail/mime.js";

/** What a data stream puts on the wire for these chunks, and its byte counts. */
function wire(ctor: DataStreamClass, chunks: Buffer[], transform?: Transform) {
  return new Promise<{ out: string; inBytes: number; outBytes: number }>((resolve, reject) => {
    const s = new ctor();
    // An own property wins over the prototype's: this instance runs nodemailer's code.
    if (transform) Object.assign(s, { _transform: transform });
    const parts: Buffer[] = [];
    s.on("data", (c: Buffer) => parts.push(c));
    s.on("error", reject);
    s.on("end", () => resolve({ out: Buffer.concat(parts).toString("latin1"), inBytes: s.inByteCount, outBytes: s.outByteCount }));
    for (const c of chunks) s.write(c);
    s.end();
  });
}

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

describe("SMTP data stream fast path", () => {
  it("is active with the nodemailer we ship", async () => {
    expect(await installDataStreamFastPath()).toBe(true);
  });

  it("puts exactly nodemailer's bytes on the wire, however the message is cut into chunks", async () => {
    expect(await installDataStreamFastPath()).toBe(true);
    const found = await nodemailerDataStream();
    expect(found).not.toBeNull();
    const { ctor, original } = found!;
    const next = rng(42);
    const alphabet = ["a", "b", ".", "\r", "\n", "\r\n", "\r\n.", "\r\n\r\n"];
    for (let round = 0; round < 400; round++) {
      let text = "";
      const parts = 1 + next(40);
      for (let i = 0; i < parts; i++) text += alphabet[next(alphabet.length)]!.repeat(1 + next(3));
      const bytes = Buffer.from(text, "latin1");
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + next(bytes.length);
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      const shown = JSON.stringify(chunks.map((c) => c.toString("latin1")));
      expect(await wire(ctor, chunks), shown).toEqual(await wire(ctor, chunks, original));
      // And the check itself: a chunk passes exactly when nodemailer's code would leave it as it is.
      let last: number | false = false;
      for (const c of chunks) {
        const unchanged = (await wire(ctor, [c], function (this, chunk, encoding, done) {
          this.lastByte = last;
          original.call(this, chunk, encoding, done);
        })).out === `${c.toString("latin1")}${c[c.length - 1] === 0x0a ? "." : c[c.length - 1] === 0x0d ? "\n." : "\r\n."}\r\n`;
        expect(passesThrough(c, last), `${shown} at ${JSON.stringify(c.toString("latin1"))}`).toBe(unchanged);
        last = c[c.length - 1] ?? last;
      }
    }
  });

  it("passes a digest-sized MIME message through untouched, and dot-stuffs one that needs it", async () => {
    const writer = createMimeWriter({ from: "paperboy <digest@paperboy.test>" });
    const html = Array.from({ length: 600 }, (_, i) => `<p>line ${i} of a long digest</p>`).join("\n");
    const raw = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-1@paperboy.test>", text: "plain\ntext", html });
    expect(passesThrough(raw, false)).toBe(true);
    const found = await nodemailerDataStream();
    expect((await wire(found!.ctor, [raw])).out).toBe(`${raw.toString("latin1")}.\r\n`);

    const dotted = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-2@paperboy.test>", text: "one\n.two", html: "<p>x</p>" });
    expect(passesThrough(dotted, false)).toBe(false);
    const stuffed = (await wire(found!.ctor, [dotted], found!.original)).out;
    expect(stuffed).toContain("\r\n..two\r\n");
    // Line ends all CRLF: the fast path stuffs the dot itself, as nodemailer does.
    expect(`${dotStuffed(dotted, false)?.toString("latin1")}.\r\n`).toBe(stuffed);
    expect(dotStuffed(Buffer.from("bare\nlf"), false)).toBeNull();
  });
});
