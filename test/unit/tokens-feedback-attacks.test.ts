import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mac, signFeedbackToken, verifyFeedbackToken, type FeedbackClaims } from "../../src/subscribers/tokens.js";
import { refusal } from "../helpers/refusal.js";

/**
 * Feedback tokens against an attacker who holds some valid links (their own, or ones
 * forwarded to them): the tag must bind subscriber, version, paper, vote and secret, and
 * the one-key cache must never let one subscriber's or secret's key sign for another.
 */
const A = "attack-secret-A-attack-secret-A-attack-1";
const B = "attack-secret-B-attack-secret-B-attack-2";


/** The tag as the format defines it, computed from scratch (no cache). */
function reference(secret: string, c: FeedbackClaims): string {
  const key = mac(secret, `${c.subscriberId}.F.${c.version}`);
  const body = `${c.paperId}.${c.vote > 0 ? "m" : "l"}`;
  return createHash("sha256").update(Buffer.concat([key, Buffer.from(body)])).digest().subarray(0, 16).toString("base64url");
}

const claimsArb = fc.record({
  subscriberId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  version: fc.integer({ min: 0, max: 999_999_999 }),
  paperId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  vote: fc.constantFrom(1 as const, -1 as const),
});

describe("feedback tokens under attack", () => {
  it("interleaved signing and checking for other secrets and subscribers always gives each token its own tag", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(A, B), claimsArb, fc.boolean()), { minLength: 2, maxLength: 30 }), (steps) => {
        for (const [secret, c, check] of steps) {
          const token = signFeedbackToken(secret, c);
          expect(token.split(".")[6]).toBe(reference(secret, c));
          if (check) expect(verifyFeedbackToken(secret, token)).toEqual(c);
          // The other secret's cache entry must not make the token pass there.
          expect(refusal(() => verifyFeedbackToken(secret === A ? B : A, token))).toBe("INVALID_TOKEN");
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a tag moved to another subscriber, version, paper or vote is refused, even right after that one's key was made", () => {
    fc.assert(
      fc.property(claimsArb, claimsArb, (mine, theirs) => {
        fc.pre(mine.subscriberId !== theirs.subscriberId || mine.version !== theirs.version || mine.paperId !== theirs.paperId || mine.vote !== theirs.vote);
        const sig = signFeedbackToken(A, mine).split(".")[6]!;
        signFeedbackToken(A, theirs); // their key is now the cached one
        const forged = `${theirs.subscriberId}.F.${theirs.version}.0.${theirs.paperId}.${theirs.vote > 0 ? "m" : "l"}.${sig}`;
        expect(refusal(() => verifyFeedbackToken(A, forged))).toBe("INVALID_TOKEN");
      }),
      { numRuns: 300 },
    );
  });

  it("only the canonical spelling of the tag passes; the biggest ids round-trip and bigger ones are refused", () => {
    const c = { subscriberId: Number.MAX_SAFE_INTEGER, version: 999_999_999, paperId: Number.MAX_SAFE_INTEGER, vote: 1 as const };
    const token = signFeedbackToken(A, c);
    expect(verifyFeedbackToken(A, token)).toEqual(c);
    const parts = token.split(".");
    const sig = parts[6]!;
    const last = sig.at(-1)!;
    // 16 bytes in 22 characters leave 4 unused bits in the last one.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const i = alphabet.indexOf(last);
    for (const variant of [sig.slice(0, -1) + alphabet[i ^ 1], `${sig}==`, `${sig}=`, sig.replace(/-/g, "+").replace(/_/g, "/"), `${sig} `, `${sig}A`, sig.slice(0, -1)]) {
      if (variant === sig) continue;
      expect(refusal(() => verifyFeedbackToken(A, [...parts.slice(0, 6), variant].join("."))), variant).toBe("INVALID_TOKEN");
    }
    for (const huge of [`9007199254740992.F.1.0.1.m.${sig}`, `1.F.1.0.9007199254740992.m.${sig}`, `1.F.1000000000.0.1.m.${sig}`]) {
      expect(refusal(() => verifyFeedbackToken(A, huge)), huge).toBe("INVALID_TOKEN");
    }
  });

  it("an old b link's HMAC does not pass as an F tag, nor an F tag as a b link", () => {
    const c = { subscriberId: 7, version: 2, paperId: 99, vote: -1 as const };
    const f = signFeedbackToken(A, c);
    const b = `7.b.2.0.99.l.${mac(A, "7.b.2.0.99.l").toString("base64url")}`;
    expect(verifyFeedbackToken(A, b)).toEqual(c);
    expect(refusal(() => verifyFeedbackToken(A, f.replace(".F.", ".b.")))).toBe("INVALID_TOKEN");
    expect(refusal(() => verifyFeedbackToken(A, b.replace(".b.", ".F.")))).toBe("INVALID_TOKEN");
    // The F key itself (an HMAC of "7.F.2") is never a valid tag of either kind.
    const key = mac(A, "7.F.2").toString("base64url");
    expect(refusal(() => verifyFeedbackToken(A, `7.b.2.0.99.l.${key}`))).toBe("INVALID_TOKEN");
    expect(refusal(() => verifyFeedbackToken(A, `7.F.2.0.99.l.${key.slice(0, 22)}`))).toBe("INVALID_TOKEN");
  });
});
