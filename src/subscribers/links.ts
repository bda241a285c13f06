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

/** The token is the file name (feed readers dislike query strings); it needs no encoding. */
export function feedUrl(ctx: LinkContext, token: string): string {
  return new URL(`feed/${token}.atom`, ctx.publicUrl.endsWith("/") ? ctx.publicUrl : `${ctx.publicUrl}/`).toString();
}

export function feedbackToken(ctx: LinkContext, s: LinkSubject, paperId: number, vote: Vote): string {
  return signFeedbackToken(ctx.secret, { subscriberId: s.id, version: s.tokenVersion, paperId, vote });
}
