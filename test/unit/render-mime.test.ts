import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { createMimeWriter, mailbox } from "../../src/mail/mime.js";

const writer = createMimeWriter({
  from: "paperboy <digest@paperboy.test>",
  staticHeaders: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": "paperboy <digest.paperboy.test>" },
});

describe("MIME writer", () => {
  it("writes a message mail clients parse back to the same parts and headers", async () => {
    const html = `<p>Grüße & “quotes” ${"x".repeat(5000)}</p>`;
    const raw = writer.build({
      to: "jane@example.org",
      subject: "12 new papers on diffusion — test-time compute ✨",
      messageId: "<digest-7@paperboy.test>",
      text: "Grüße\nline two",
      html,
      headers: { "List-Unsubscribe": "<https://paperboy.test/unsubscribe/one-click?token=1.u.1.0.abc>" },
    });
    for (const line of raw.toString("utf8").split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe("12 new papers on diffusion — test-time compute ✨");
    expect(mail.messageId).toBe("<digest-7@paperboy.test>");
    expect(mail.html).toBe(html);
    expect(mail.text).toBe("Grüße\nline two");
    expect(mail.headerLines.find((h) => h.key === "list-unsubscribe-post")?.line).toBe("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    expect(mail.from?.value[0]).toMatchObject({ name: "paperboy", address: "digest@paperboy.test" });
  });

  it("lets no CR or LF from data start a header of its own", async () => {
    const raw = writer.build({
      to: "jane@example.org\r\nBcc: victim@example.org",
      subject: "hello\r\nBcc: victim@example.org\nX-Evil: 1",
      messageId: "<digest-8@paperboy.test>\r\nX-Evil: 2",
      text: "t",
      html: "h",
      headers: { "List-Unsubscribe": "<https://x.test/?a=1>\r\nX-Evil: 3" },
    });
    const mail = await simpleParser(raw);
    expect(mail.headers.has("bcc")).toBe(false);
    expect(mail.headers.has("x-evil")).toBe(false);
    expect(mail.subject).toBe("hello Bcc: victim@example.org X-Evil: 1");
  });

  it("encodes or quotes display names that need it", () => {
    expect(mailbox("Paper Boy <a@b.test>").header).toBe("Paper Boy <a@b.test>");
    expect(mailbox("Paper, Boy <a@b.test>").header).toBe('"Paper, Boy" <a@b.test>');
    expect(mailbox("Zeitung für Forscher <a@b.test>").header).toMatch(/^=\?UTF-8\?B\?.+\?= <a@b\.test>$/);
    expect(mailbox("a@b.test")).toEqual({ header: "a@b.test", address: "a@b.test" });
    expect(writer.canWrite("jane@example.org")).toBe(true);
    expect(writer.canWrite("jäne@example.org")).toBe(false);
  });
});

describe("MIME writer encodings", () => {
  it("sends an all-ASCII body as 7bit with CRLF lines, and anything else as base64", async () => {
    const raw = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-9@paperboy.test>", text: "plain\nascii", html: "<p>caf&eacute;</p>\n<p>ok</p>" }).toString();
    expect(raw).toContain("Content-Transfer-Encoding: 7bit\r\n\r\nplain\r\nascii");
    expect(raw).not.toContain("base64");
    const crlf = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-9@paperboy.test>", text: "one\r\ntwo\nthree", html: "<p>x</p>" }).toString();
    expect(crlf).toContain("\r\n\r\none\r\ntwo\r\nthree\r\n--");
    const mixed = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-9@paperboy.test>", text: "café", html: `<p>${"x".repeat(1200)}</p>` });
    expect(mixed.toString().match(/Content-Transfer-Encoding: base64/g)).toHaveLength(2);
    const mail = await simpleParser(mixed);
    expect(mail.text).toBe("café");
    expect(mail.html).toBe(`<p>${"x".repeat(1200)}</p>`);
    // 7bit allows every ASCII octet but NUL; a lone surrogate or an emoji is not ASCII either.
    for (const text of ["nul\u0000here", "\ud83d\ude00", "lone \ud800"]) {
      const raw = writer.build({ to: "a@example.org", subject: "s", messageId: "<digest-9@paperboy.test>", text, html: "<p>x</p>" }).toString();
      expect(raw.match(/Content-Transfer-Encoding: base64/g), JSON.stringify(text)).toHaveLength(1);
    }
  });
});

describe("MIME writer memory", () => {
  const msg = (n: number) => ({ to: `r${n}@example.org`, subject: `Digest ${n}`, messageId: `<digest-${n}@paperboy.test>`, text: `text ${n}`, html: `<p>${n}</p>` });

  it("writes the next message into the memory of one handed back, and only into that", async () => {
    const w = createMimeWriter({ from: "paperboy <digest@paperboy.test>" });
    const a = w.build(msg(1));
    const b = w.build(msg(2));
    expect(b.buffer).not.toBe(a.buffer);
    w.recycle(a);
    const c = w.build(msg(3));
    expect(c.buffer).toBe(a.buffer);
    // b was never handed back: still message 2, whole.
    expect((await simpleParser(b)).messageId).toBe("<digest-2@paperboy.test>");
    expect((await simpleParser(c)).messageId).toBe("<digest-3@paperboy.test>");
  });

  it("a message handed back twice is still handed out to one message at a time", async () => {
    const w = createMimeWriter({ from: "paperboy <digest@paperboy.test>" });
    const a = w.build(msg(1));
    w.recycle(a);
    w.recycle(a);
    const x = w.build(msg(2));
    const y = w.build(msg(3));
    expect(y.buffer).not.toBe(x.buffer);
    expect((await simpleParser(x)).messageId).toBe("<digest-2@paperboy.test>");
    expect((await simpleParser(y)).messageId).toBe("<digest-3@paperboy.test>");
  });

  it("buffers that are not its own are never taken in", () => {
    const w = createMimeWriter({ from: "paperboy <digest@paperboy.test>" });
    const foreign = Buffer.alloc(1000);
    w.recycle(foreign);
    expect(w.build(msg(1)).buffer).not.toBe(foreign.buffer);
  });
});
