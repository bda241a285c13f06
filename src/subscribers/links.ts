import { CONFIRM_TOKEN_TTL_MS, signToken, type TokenPurpose } from "./tokens.js";

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
};
