import { createHash, generateKeyPairSync, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** Relaxed/relaxed DKIM verification (RFC 6376 §3.4) of a single signature, enough to prove what was signed. */
function verifyDkim(raw: Buffer, publicKeyPem: string): { headers: string[]; bodyOk: boolean; signatureOk: boolean } {
  const text = raw.toString("utf8");
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split);
  const body = text.slice(split + 4);
  const fields = head.split(/\r\n(?![ \t])/);
  const relaxed = (f: string) => {
    const i = f.indexOf(":");
    return `${f.slice(0, i).trim().toLowerCase()}:${f.slice(i + 1).replace(/\r\n/g, "").replace(/[ \t]+/g, " ").trim()}`;
  };
  const sigField = fields.find((f) => /^dkim-signature:/i.test(f))!;
  const tags = Object.fromEntries(
    sigField.slice(sigField.indexOf(":") + 1).replace(/\s+/g, "").split(";").filter(Boolean).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]),
  );
  const headers = String(tags.h).toLowerCase().split(":");
  let canonBody = body.split("\r\n").map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, "")).join("\r\n");
  canonBody = canonBody.replace(/(\r\n)*$/, "");
  canonBody = canonBody ? `${canonBody}\r\n` : "";
  const bodyOk = createHash("sha256").update(canonBody).digest("base64") === tags.bh;
  const signed = headers
    .map((h) => fields.find((f) => f.toLowerCase().startsWith(`${h}:`)))
    .filter((f): f is string => f !== undefined)
    .map((f) => `${relaxed(f)}\r\n`)
    .join("");
  const sigNoB = relaxed(sigField).replace(/b=[^;]*$/, "b=");
  const signatureOk = verify("sha256", Buffer.from(signed + sigNoB), publicKeyPem, Buffer.from(String(tags.b), "base64"));
  return { headers, bodyOk, signatureOk };
}

describe("DKIM", () => {
  let rt: TestRuntime;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  beforeAll(async () => {
    rt = await createTestRuntime({
      MAIL_DOMAIN: "paperboy.test",
      DKIM_DOMAIN: "paperboy.test",
      DKIM_SELECTOR: "pb2026",
      // As it sits in an env file: one line, \n escapes.
      DKIM_PRIVATE_KEY: privateKey.replace(/\n/g, "\\n"),
    });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("signs the digest, List-Unsubscribe and List-Unsubscribe-Post included", async () => {
    const sender = buildDigestSender(rt, rt.renderer);
    const { digestId } = await seedOne(rt.pool);
    expect(await sender.sendBatch([digestId])).toMatchObject({ sent: 1 });
    const [msg] = await rt.sink.waitFor(1);
    const dkim = verifyDkim(msg!.raw, publicKey);
    expect(dkim.headers).toEqual(expect.arrayContaining(["from", "to", "subject", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"]));
    expect(dkim.bodyOk).toBe(true);
    expect(dkim.signatureOk).toBe(true);
  });
});
