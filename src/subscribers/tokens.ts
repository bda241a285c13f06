import { createHash, createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from "node:crypto";
import { AppError } from "../errors.js";

/**
 * Signed, purpose-bound tokens for every link we email. A token names the
 * subscriber, its purpose, the subscriber's token version and an optional expiry,
 * and carries HMAC-SHA256 over those with the server secret. Bumping the
 * subscriber's token_version revokes every token issued before.
 *
 * Format: `<subscriberId>.<purpose letter>.<version>.<expires unix s or 0>.<base64url mac>`
 */
/**
 * Constant-time equality of a presented secret (a bearer token, a webhook password or
 * signature) with the expected one, of any length: hashing first makes the lengths equal.
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export type TokenPurpose = "confirm" | "manage" | "unsubscribe" | "view" | "feed";

/**
 * `feed` tokens carry the subscriber's feed_version instead of token_version: a feed
 * link lives in feed readers for years, so it is revoked on its own (manage page).
 */
const LETTER: Record<TokenPurpose, string> = { confirm: "c", manage: "m", unsubscribe: "u", view: "v", feed: "f" };

export const CONFIRM_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface TokenClaims {
  subscriberId: number;
  purpose: TokenPurpose;
  version: number;
  /** Absent: the token does not expire on its own (revocation is by version). */
  expiresAt?: Date | undefined;
}

/**
 * The secret's two padded key blocks (RFC 2104), made once per secret, each in a buffer
 * with room for what is hashed after it. An email carries ~30 tokens (two feedback links
 * per paper); createHmac builds an object and sets the key up again for every one, about
 * four times the CPU of the two one-shot hashes below. Same bytes as createHmac (unit test).
 */
interface MacKey {
  /** key ⊕ ipad, then the body (up to BODY_ROOM bytes). */
  inner: Buffer;
  /** key ⊕ opad, then the inner hash. */
  outer: Buffer;
  /** The secret for bodies longer than BODY_ROOM. */
  key: KeyObject;
}

// eslint-disable-next-line no-control-regex -- any ASCII byte, control characters included
const ASCII = /^[\x00-\x7f]*$/;
const BLOCK = 64;
const BODY_ROOM = 256;
const keys = new Map<string, MacKey>();

function macKey(secret: string): MacKey {
  let k = keys.get(secret);
  if (k) return k;
  const raw = Buffer.from(secret, "utf8");
  const block = Buffer.alloc(BLOCK);
  (raw.length > BLOCK ? hash("sha256", raw, "buffer") : raw).copy(block);
  const inner = Buffer.alloc(BLOCK + BODY_ROOM);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = block[i]! ^ 0x36;
    outer[i] = block[i]! ^ 0x5c;
  }
  k = { inner, outer, key: createSecretKey(raw) };
  keys.set(secret, k);
  return k;
}

/** HMAC-SHA256 of `body` under `secret`. */
export function mac(secret: string, body: string): Buffer {
  const k = macKey(secret);
  // latin1 writes one byte per UTF-16 unit: exact only when the body is ASCII, as every token body is.
  if (body.length > BODY_ROOM || !ASCII.test(body)) return createHmac("sha256", k.key).update(body).digest();
  const n = k.inner.write(body, BLOCK, "latin1");
  hash("sha256", k.inner.subarray(0, BLOCK + n), "buffer").copy(k.outer, BLOCK);
  return hash("sha256", k.outer, "buffer");
}

export function signToken(secret: string, claims: TokenClaims): string {
  const exp = claims.expiresAt ? Math.floor(claims.expiresAt.getTime() / 1000) : 0;
  const body = `${claims.subscriberId}.${LETTER[claims.purpose]}.${claims.version}.${exp}`;
  return `${body}.${mac(secret, body).toString("base64url")}`;
}

/**
 * Checks signature, purpose and expiry. The caller must still compare `version`
 * with the subscriber's current token_version (revocation lives in the database).
 */
export function verifyToken(secret: string, token: string, purpose: TokenPurpose, now = new Date()): TokenClaims {
  const parts = token.split(".");
  const invalid = () => new AppError("INVALID_TOKEN");
  if (parts.length !== 5) throw invalid();
  const [id, letter, version, exp, sig] = parts as [string, string, string, string, string];
  if (!/^[1-9][0-9]{0,15}$/.test(id) || !/^[0-9]{1,9}$/.test(version) || !/^[0-9]{1,12}$/.test(exp)) throw invalid();
  const expected = mac(secret, `${id}.${letter}.${version}.${exp}`);
  const given = Buffer.from(sig, "base64url");
  // Base64 decoding ignores trailing bits and stray characters; only the canonical spelling counts.
  if (given.toString("base64url") !== sig) throw invalid();
  // Constant-time compare; lengths differ only for garbage, which leaks nothing.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  if (letter !== LETTER[purpose]) throw invalid();
  const expiresAt = exp === "0" ? undefined : new Date(Number(exp) * 1000);
  if (expiresAt && expiresAt.getTime() < now.getTime()) {
    throw new AppError("TOKEN_EXPIRED", "This link has expired. Sign up again and we will send you a fresh one.");
  }
  return { subscriberId: Number(id), purpose, version: Number(version), expiresAt };
}

/** A vote a feedback link casts: +1 "more like this", −1 "less like this". */
export type Vote = 1 | -1;

export interface FeedbackClaims {
  subscriberId: number;
  version: number;
  paperId: number;
  vote: Vote;
}

/**
 * Feedback links ("more/less like this" under each paper) name the paper and the vote
 * too. They never expire on their own; the subscriber's token_version revokes them like
 * every other link.
 *
 * A digest carries two per paper, so they are the bulk of an email's tokens (26 of 30
 * for 13 papers) and were ~12 % of the sending thread's CPU as HMACs. Now a subscriber's
 * feedback key is one HMAC per digest, and each link's tag is one SHA-256 under it:
 *
 *   key = HMAC-SHA256(secret, "<subscriberId>.F.<version>")
 *   tag = first 16 bytes of SHA-256(key ‖ "<paperId>.<m|l>")
 *   token `<subscriberId>.F.<version>.0.<paperId>.<m|l>.<base64url tag>`
 *
 * A secret-prefix hash with a fixed-length key is a MAC once its output is cut: the
 * 128 bits shown are not the state SHA-256 would need to be extended (the same reason
 * SHA-512/256 resists length extension), and the parser takes only digits and m|l.
 * Links already sent, `<subscriberId>.b.<version>.0.<paperId>.<m|l>.<HMAC>`, stay valid.
 */
export function signFeedbackToken(secret: string, c: FeedbackClaims): string {
  const body = `${c.paperId}.${c.vote > 0 ? "m" : "l"}`;
  return `${c.subscriberId}.F.${c.version}.0.${body}.${feedbackTag(secret, c.subscriberId, c.version, body).toString("base64url")}`;
}

const TAG_BYTES = 16;
/** The last key made: a digest's feedback links come one after another for one subscriber. */
let lastKey: { secret: string; subscriber: number; version: number; block: Buffer } | undefined;

/** SHA-256(key ‖ body), cut to TAG_BYTES; `body` is "<paperId>.<m|l>" (ASCII, at most 18 bytes). */
function feedbackTag(secret: string, subscriberId: number, version: number, body: string): Buffer {
  let k = lastKey;
  if (!k || k.secret !== secret || k.subscriber !== subscriberId || k.version !== version) {
    const block = Buffer.alloc(32 + 32);
    mac(secret, `${subscriberId}.F.${version}`).copy(block, 0);
    k = lastKey = { secret, subscriber: subscriberId, version, block };
  }
  const n = k.block.write(body, 32, "latin1");
  return hash("sha256", k.block.subarray(0, 32 + n), "buffer").subarray(0, TAG_BYTES);
}

export function verifyFeedbackToken(secret: string, token: string): FeedbackClaims {
  const parts = token.split(".");
  const invalid = () => new AppError("INVALID_TOKEN");
  if (parts.length !== 7) throw invalid();
  const [id, letter, version, exp, paper, vote, sig] = parts as [string, string, string, string, string, string, string];
  if ((letter !== "F" && letter !== "b") || exp !== "0" || (vote !== "m" && vote !== "l")) throw invalid();
  if (!/^[1-9][0-9]{0,15}$/.test(id) || !/^[0-9]{1,9}$/.test(version) || !/^[1-9][0-9]{0,15}$/.test(paper)) throw invalid();
  const subscriberId = Number(id);
  const paperId = Number(paper);
  if (!Number.isSafeInteger(subscriberId) || !Number.isSafeInteger(paperId)) throw invalid();
  const expected =
    letter === "F" ? feedbackTag(secret, subscriberId, Number(version), `${paper}.${vote}`) : mac(secret, `${id}.${letter}.${version}.${exp}.${paper}.${vote}`);
  const given = Buffer.from(sig, "base64url");
  // Base64 decoding ignores trailing bits and stray characters; only the canonical spelling counts.
  if (given.toString("base64url") !== sig) throw invalid();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  return { subscriberId, version: Number(version), paperId, vote: vote === "m" ? 1 : -1 };
}
