import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../../errors.js";
import { sameSecret } from "../../subscribers/tokens.js";
import { sendError } from "../errors.js";

export type AdminAuth = "bearer" | "basic";

declare module "fastify" {
  interface FastifyRequest {
    /** How the admin authenticated; set by the admin guard. */
    adminAuth?: AdminAuth;
  }
}

/**
 * Reads the credential from `Authorization: Bearer <token>` or HTTP Basic with any
 * user name and the token as the password (what a browser prompt sends).
 */
export function presentedToken(header: string | undefined): { token: string; via: AdminAuth } | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === "bearer") return { token: value, via: "bearer" };
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    return { token: decoded.slice(colon + 1), via: "basic" };
  }
  return undefined;
}

export const REALM = 'Basic realm="paperboy admin", charset="UTF-8"';

/**
 * onRequest hook for every admin route. It answers itself rather than throwing:
 * bull-board installs its own error handler, which would turn a throw into a 500.
 */
export function adminGuard(adminToken: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const presented = presentedToken(request.headers.authorization);
    if (!presented || !sameSecret(presented.token, adminToken)) {
      reply.header("www-authenticate", REALM);
      return sendError(
        request,
        reply,
        new AppError("UNAUTHORIZED", "Admin needs the ADMIN_TOKEN: send it as a bearer token, or as the password of HTTP basic auth (any user name)."),
      );
    }
    request.adminAuth = presented.via;
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a state-changing admin request is refused as cross-site, or undefined when it
 * is not. Browsers replay basic-auth credentials on their own, so a form or script on
 * another site would carry them. Bearer tokens are never sent by a browser on its own,
 * so scripts using one are exempt. A browser says where a request comes from in
 * Sec-Fetch-Site (every current browser, whatever the referrer policy); without it,
 * Origin or Referer must be this site's (PUBLIC_URL, or the host the request names).
 */
export function crossSiteProblem(request: FastifyRequest, publicUrl: string): string | undefined {
  if (SAFE_METHODS.has(request.method) || request.adminAuth === "bearer") return undefined;
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined) return site === "same-origin" ? undefined : `the browser says it came from ${site === "none" ? "no page" : `a ${site} page`}`;
  const allowed = new Set([new URL(publicUrl).origin, `${request.protocol}://${request.host}`]);
  const origin = request.headers.origin;
  const referer = request.headers.referer;
  let from: string | undefined;
  if (origin && origin !== "null") from = origin;
  else if (referer) {
    try {
      from = new URL(referer).origin;
    } catch {
      from = undefined;
    }
  }
  if (!from) return "it names no origin (Origin, Referer or Sec-Fetch-Site)";
  return allowed.has(from) ? undefined : `it came from ${from}`;
}

/**
 * onRequest hook after the admin guard, for every admin route (bull-board's included):
 * a state-changing request must come from this site's own pages. It answers itself,
 * like the guard, because bull-board's error handler would turn a throw into a 500.
 */
export function sameOriginGuard(publicUrl: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const problem = crossSiteProblem(request, publicUrl);
    if (problem) {
      return sendError(request, reply, new AppError("FORBIDDEN", `Admin actions must be sent from the admin pages of this site; this one was refused because ${problem}.`));
    }
  };
}
