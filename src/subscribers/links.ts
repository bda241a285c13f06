import { CONFIRM_TOKEN_TTL_MS, signFeedbackToken, signToken, type TokenPurpose, type Vote } from "./tokens.js";

/** Everything a link needs: where we live, the secret, and whom it is for. */
export interface LinkContext {
  publicUrl: string;
  secret: string;
}

export interface LinkSubject {
  id: number;
  tokenVersion: number;
}

function url(ctx: LinkContext, path: string, token: string): string {
  const u = new URL(path, ctx.publicUrl.endsWith("/") ? ctx.publicUrl : `${ctx.publicUrl}/`);
  u.searchParams.set("token", token);
  return u.toString();
}

export function tokenFor(ctx: LinkContext, s: LinkSubject, purpose: TokenPurpose, now = new Date()): string {
  return signToken(ctx.secret, {
    subscriberId: s.id,
    purpose,
    version: s.tokenVersion,
    expiresAt: purpose === "confirm" ? new Date(now.getTime() + CONFIRM_TOKEN_TTL_MS) : undefined,
  });
}

/** Absolute links with signed, purpose-bound tokens, as they appear in emails. */
export const links = {
  confirm: (ctx: LinkContext, s: LinkSubject, now?: Date) => url(ctx, "confirm", tokenFor(ctx, s, "confirm", now)),
  manage: (ctx: LinkContext, s: LinkSubject) => url(ctx, "manage", tokenFor(ctx, s, "manage")),
  unsubscribe: (ctx: LinkContext, s: LinkSubject) => url(ctx, "unsubscribe", tokenFor(ctx, s, "unsubscribe")),
  /** RFC 8058 target of List-Unsubscribe; answers a bare POST. */
  oneClick: (ctx: LinkContext, s: LinkSubject) => url(ctx, "unsubscribe/one-click", tokenFor(ctx, s, "unsubscribe")),
  viewDigest: (ctx: LinkContext, s: LinkSubject, digestId: number) => url(ctx, `digests/${digestId}`, tokenFor(ctx, s, "view")),
  /** The subscriber's own Atom feed of their digests; `feedVersion` stands in for the token version. */
  feed: (ctx: LinkContext, s: { id: number; feedVersion: number }) => feedUrl(ctx, tokenFor(ctx, { id: s.id, tokenVersion: s.feedVersion }, "feed")),
  /** "More like this" (+1) / "Less like this" (−1) under a paper: a page with one button, the POST votes. */
  feedback: (ctx: LinkContext, s: LinkSubject, paperId: number, vote: Vote) => url(ctx, "feedback", feedbackToken(ctx, s, paperId, vote)),
  /** The manage page's list of past digests. */
  archive: (ctx: LinkContext, s: LinkSubject) => `${url(ctx, "manage", tokenFor(ctx, s, "manage"))}#archive`,
};

/**
 * Our links are `<publicUrl>/<path>?token=<token>`; the token (digits, dots,
 * base64url) needs no encoding, so the URL around it is worked out once, with the
 * same URL code as `links`, and a link is a concatenation. `slot` is a value of
 * the path (the digest id) that is filled per link too. Null when the sample does
 * not split that way (then `links` builds each link).
 */
function linkTemplate(sample: string, token: string, slot = ""): LinkTemplate | null {
  const at = sample.lastIndexOf(token);
  if (at < 0 || sample.indexOf(token) !== at) return null;
  const head = sample.slice(0, at);
  const tail = sample.slice(at + token.length);
  if (!slot) return (t) => head + t + tail;
  const s = head.indexOf(slot);
  if (s < 0 || head.indexOf(slot, s + 1) !== -1 || tail.includes(slot)) return null;
  const a = head.slice(0, s);
  const b = head.slice(s + slot.length);
  return (t, v = "") => a + v + b + t + tail;
}

export type LinkTemplate = (token: string, slotValue?: string) => string;

/**
 * The digest's per-recipient links as templates, worked out once per renderer from a
 * probe subscriber; each is null when its URL does not split around the token.
 */
export function linkTemplates(ctx: LinkContext): {
  manageAt: LinkTemplate | null;
  unsubscribeAt: LinkTemplate | null;
  oneClickAt: LinkTemplate | null;
  viewAt: LinkTemplate | null;
  /**
   * A feedback link is `<head><token><tail>` whatever the paper and vote: a paper's
   * fragment holds head and tail (escaped by the template like any value) around a slot
   * for the token. [head, tail], or null.
   */
  feedbackAt: [string, string] | null;
} {
  const probe = { id: 1, tokenVersion: 1 };
  const probeDigest = 987654321;
  return {
    manageAt: linkTemplate(links.manage(ctx, probe), tokenFor(ctx, probe, "manage")),
    unsubscribeAt: linkTemplate(links.unsubscribe(ctx, probe), tokenFor(ctx, probe, "unsubscribe")),
    oneClickAt: linkTemplate(links.oneClick(ctx, probe), tokenFor(ctx, probe, "unsubscribe")),
    viewAt: linkTemplate(links.viewDigest(ctx, probe, probeDigest), tokenFor(ctx, probe, "view"), `/${probeDigest}`),
    feedbackAt: around(links.feedback(ctx, probe, probeDigest, 1), feedbackToken(ctx, probe, probeDigest, 1)),
  };
}

/** `sample` split around its one `token`: [head, tail], or null when it does not split that way. */
function around(sample: string, token: string): [string, string] | null {
  const at = sample.indexOf(token);
  if (at < 0 || sample.indexOf(token, at + 1) !== -1) return null;
  return [sample.slice(0, at), sample.slice(at + token.length)];
}

/** The token is the file name (feed readers dislike query strings); it needs no encoding. */
export function feedUrl(ctx: LinkContext, token: string): string {
  return new URL(`feed/${token}.atom`, ctx.publicUrl.endsWith("/") ? ctx.publicUrl : `${ctx.publicUrl}/`).toString();
}

export function feedbackToken(ctx: LinkContext, s: LinkSubject, paperId: number, vote: Vote): string {
  return signFeedbackToken(ctx.secret, { subscriberId: s.id, version: s.tokenVersion, paperId, vote });
}
