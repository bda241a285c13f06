import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { links } from "../../src/subscribers/links.js";
import { CONFIRM_TOKEN_TTL_MS, mac, signFeedbackToken, signToken, verifyFeedbackToken, verifyToken, type TokenPurpose } from "../../src/subscribers/tokens.js";
import { refusal } from "../helpers/refusal.js";

const secret = "unit-secret-unit-secret-unit-secret-42";
const claims = { subscriberId: 42, purpose: "manage" as TokenPurpose, version: 3 };


describe("signed tokens", () => {
  it("signs with HMAC-SHA256 exactly as createHmac does, for any secret and body", () => {
    const secrets = ["", "k", "x".repeat(63), "y".repeat(64), "z".repeat(65), "long-".repeat(40), "gehëim-schlüssel-ünïcode-✓"];
    const bodies = ["", "42.m.3.0", "7.b.1.0.99.l", "a".repeat(256), "b".repeat(257), "ümlaut.b.1", "\u0000\u007f.ctl"];
    for (const s of secrets) for (const b of bodies) expect(mac(s, b).toString("hex"), `${s.length}/${b}`).toBe(createHmac("sha256", s).update(b).digest("hex"));
    // The key blocks are reused: a short body after a long one is not mixed with its leftovers.
    expect(mac(secret, "1").toString("hex")).toBe(createHmac("sha256", secret).update("1").digest("hex"));
  });

  it("round-trips the subscriber, purpose and version", () => {
    const token = signToken(secret, claims);
    expect(verifyToken(secret, token, "manage")).toEqual({ ...claims, expiresAt: undefined });
  });

  it("refuses a token signed with another secret, or with any character changed", () => {
    const token = signToken(secret, claims);
    expect(refusal(() => verifyToken("another-secret-another-secret-another-1", token, "manage"))).toBe("INVALID_TOKEN");
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === "A" ? "B" : "A";
      const tampered = token.slice(0, i) + c + token.slice(i + 1);
      if (tampered === token) continue;
      expect(refusal(() => verifyToken(secret, tampered, "manage")), `position ${i}`).toBeDefined();
    }
  });

  it("refuses a signature changed only in base64's unused trailing bits", () => {
    const token = signToken(secret, claims);
    const sig = token.slice(token.lastIndexOf(".") + 1);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // 32 bytes take 43 characters; the last one carries 2 bits that decoding drops.
    const last = alphabet.indexOf(sig.at(-1)!);
    const sibling = alphabet[last ^ 1]!;
    const respelled = token.slice(0, -1) + sibling;
    expect(Buffer.from(respelled.slice(respelled.lastIndexOf(".") + 1), "base64url")).toEqual(Buffer.from(sig, "base64url"));
    expect(refusal(() => verifyToken(secret, respelled, "manage"))).toBe("INVALID_TOKEN");
  });

  it("refuses truncated and malformed tokens", () => {
    const token = signToken(secret, claims);
    for (const bad of [token.slice(0, -1), token.slice(0, token.lastIndexOf(".")), "", "....", "x.m.1.0.abc", `${token}.extra`]) {
      expect(refusal(() => verifyToken(secret, bad, "manage")), bad).toBe("INVALID_TOKEN");
    }
  });

  it("binds the purpose: an unsubscribe token does not manage, a view token does not confirm", () => {
    expect(refusal(() => verifyToken(secret, signToken(secret, { ...claims, purpose: "unsubscribe" }), "manage"))).toBe("INVALID_TOKEN");
    expect(refusal(() => verifyToken(secret, signToken(secret, { ...claims, purpose: "view" }), "confirm"))).toBe("INVALID_TOKEN");
  });

  it("expires confirm links after 7 days", () => {
    const now = new Date("2026-11-28T12:00:00Z");
    const url = links.confirm({ publicUrl: "https://paperboy.example", secret }, { id: 7, tokenVersion: 1 }, now);
    const token = new URL(url).searchParams.get("token")!;
    expect(verifyToken(secret, token, "confirm", new Date(now.getTime() + CONFIRM_TOKEN_TTL_MS - 1000)).subscriberId).toBe(7);
    expect(refusal(() => verifyToken(secret, token, "confirm", new Date(now.getTime() + CONFIRM_TOKEN_TTL_MS + 1000)))).toBe("TOKEN_EXPIRED");
  });

  it("carries the version so that bumping it revokes older links (checked by the caller)", () => {
    const old = verifyToken(secret, signToken(secret, claims), "manage");
    const fresh = verifyToken(secret, signToken(secret, { ...claims, version: 4 }), "manage");
    expect(old.version).not.toBe(fresh.version);
  });

  it("a feedback token names subscriber, paper and vote; any change, another purpose or another secret is refused", () => {
    const fb = { subscriberId: 42, version: 3, paperId: 9001, vote: -1 as const };
    const token = signFeedbackToken(secret, fb);
    expect(verifyFeedbackToken(secret, token)).toEqual(fb);
    expect(verifyFeedbackToken(secret, signFeedbackToken(secret, { ...fb, vote: 1 })).vote).toBe(1);
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === "A" ? "B" : "A";
      expect(refusal(() => verifyFeedbackToken(secret, token.slice(0, i) + c + token.slice(i + 1))), `char ${i}`).toBe("INVALID_TOKEN");
    }
    expect(refusal(() => verifyFeedbackToken("another-secret-another-secret-another-1", token))).toBe("INVALID_TOKEN");
    // Neither way round does a token of one kind pass for the other.
    expect(refusal(() => verifyToken(secret, token, "manage"))).toBe("INVALID_TOKEN");
    expect(refusal(() => verifyFeedbackToken(secret, signToken(secret, claims)))).toBe("INVALID_TOKEN");
    for (const junk of ["", ".", "1.b.1.0.1.m.", "1.b.1.0.0.m.x", "1.b.1.5.1.m.x", `${"9".repeat(20)}.b.1.0.1.m.x`, "1.b.1.0.1.m.x.y", "1.F.1.0.1.m.", "1.F.1.0.1.x.AAAAAAAAAAAAAAAAAAAAAA"]) {
      expect(refusal(() => verifyFeedbackToken(secret, junk)), junk).toBe("INVALID_TOKEN");
    }
  });

  it("a feedback link is one short tag under the subscriber's feedback key; links already sent (a full HMAC) still count", () => {
    const fb = { subscriberId: 42, version: 3, paperId: 9001, vote: 1 as const };
    const token = signFeedbackToken(secret, fb);
    // 128 bits: 22 base64url characters, against 43 for an HMAC.
    expect(token).toMatch(/^42\.F\.3\.0\.9001\.m\.[A-Za-z0-9_-]{22}$/);
    // The tag is SHA-256(key ‖ "9001.m") cut to 16 bytes, the key an HMAC of "42.F.3".
    const key = mac(secret, "42.F.3");
    const tag = createHash("sha256").update(Buffer.concat([key, Buffer.from("9001.m")])).digest().subarray(0, 16);
    expect(token.split(".")[6]).toBe(tag.toString("base64url"));
    // Another subscriber, version or paper under the same tag is refused.
    const sig = token.split(".")[6];
    for (const forged of [`43.F.3.0.9001.m.${sig}`, `42.F.4.0.9001.m.${sig}`, `42.F.3.0.9002.m.${sig}`, `42.F.3.0.9001.l.${sig}`]) {
      expect(refusal(() => verifyFeedbackToken(secret, forged)), forged).toBe("INVALID_TOKEN");
    }
    // A link from an email sent before: the whole HMAC over every field, letter b.
    const body = "42.b.3.0.9001.l";
    expect(verifyFeedbackToken(secret, `${body}.${mac(secret, body).toString("base64url")}`)).toEqual({ ...fb, vote: -1 });
  });
});
