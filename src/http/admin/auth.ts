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

/**
 * Browsers replay basic-auth credentials on their own, so a form posted from another
 * site would carry them: a POST authenticated by basic auth must come from our own
 * origin (Origin, or Referer when a browser leaves Origin out). Bearer tokens are
 * never sent by a browser on its own, so scripts using them need no such header.
 */
export function assertSameOrigin(request: FastifyRequest, publicUrl: string): void {
  if (request.adminAuth === "bearer") return;
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
  if (!from || !allowed.has(from)) {
    throw new AppError("FORBIDDEN", "Admin actions must be posted from the admin page of this site (Origin or Referer must match).");
  }
}
