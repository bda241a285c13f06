import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

/** A strong validator for a representation made of exactly these parts. */
export function etagOf(...parts: (string | number | null | undefined)[]): string {
  return `"${createHash("sha256").update(parts.map((p) => String(p ?? "")).join("\u0000")).digest("base64url").slice(0, 27)}"`;
}

function ifNoneMatch(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  // Weak comparison (RFC 9110 13.1.2): W/"x" matches "x"; a list may name several.
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * Sets ETag and Last-Modified and answers 304 when the client already has this
 * representation (If-None-Match first; If-Modified-Since only without it, RFC 9110
 * 13.2.2). Returns true when the 304 was sent and the caller must not render.
 */
export function notModified(req: FastifyRequest, reply: FastifyReply, etag: string, lastModified: Date | null): boolean {
  reply.header("etag", etag);
  // Shared caches may keep it briefly; clients revalidate with the validators.
  reply.header("cache-control", "public, max-age=0, must-revalidate");
  const seconds = lastModified ? Math.floor(lastModified.getTime() / 1000) * 1000 : null;
  if (seconds !== null) reply.header("last-modified", new Date(seconds).toUTCString());
  const inm = req.headers["if-none-match"];
  let fresh = false;
  if (typeof inm === "string") fresh = ifNoneMatch(inm, etag);
  else if (seconds !== null && typeof req.headers["if-modified-since"] === "string") {
    const since = Date.parse(req.headers["if-modified-since"]);
    // A date after now cannot be one we sent (RFC 9110 13.1.3): ignored, like one that is not a date.
    fresh = !Number.isNaN(since) && since <= Date.now() && seconds <= since;
  }
  if (fresh) void reply.code(304).send();
  return fresh;
}
