import { createHmac } from "node:crypto";
import { z } from "zod";
import { badSignature, detail, refuseStale, sameSecret, type ProviderEvent } from "./common.js";

/**
 * Mailgun's webhooks (JSON): `signature: {timestamp, token, signature}` in the body,
 * where signature is the hex HMAC-SHA256 of timestamp + token under the webhook
 * signing key. The event itself is `event-data`, which the signature does not cover:
 * so, as Mailgun's "Securing webhooks" asks, a stale timestamp is refused here and the
 * route remembers each token (the returned post name), so no signature carries a
 * second body. Returns the token.
 */
export function verifyMailgun(body: unknown, signingKey: string, now = new Date()): string {
  const s = (body as { signature?: unknown } | null)?.signature as { timestamp?: unknown; token?: unknown; signature?: unknown } | undefined;
  const timestamp = typeof s?.timestamp === "number" ? String(s.timestamp) : s?.timestamp;
  if (typeof timestamp !== "string" || typeof s?.token !== "string" || typeof s.signature !== "string") {
    throw badSignature("Mailgun's signature object");
  }
  const expected = createHmac("sha256", signingKey).update(timestamp + s.token).digest("hex");
  if (!sameSecret(s.signature.toLowerCase(), expected)) throw badSignature("Mailgun's signature object");
  refuseStale(Number(timestamp) * 1000, now, "Mailgun's signature timestamp");
  return s.token;
}

const text = (max: number) => z.string().max(max);

export const mailgunBody = z.looseObject({
  signature: z.looseObject({ timestamp: z.union([text(20), z.number()]), token: text(200), signature: text(200) }),
  "event-data": z.looseObject({
    event: text(50).describe("delivered, failed, complained, unsubscribed, opened, …"),
    severity: text(20).optional().describe("For failed: permanent or temporary"),
    reason: text(200).optional(),
    recipient: text(1000).optional(),
    message: z.looseObject({ headers: z.looseObject({ "message-id": text(1000).optional() }).optional() }).optional(),
    "delivery-status": z
      .looseObject({ code: z.union([z.number(), text(20)]).optional(), message: text(10_000).optional(), description: text(10_000).optional() })
      .optional(),
  }),
});

export type MailgunBody = z.infer<typeof mailgunBody>;

export function mailgunEvents(body: MailgunBody): ProviderEvent[] {
  const e = body["event-data"];
  const base = { messageId: e.message?.headers?.["message-id"], email: e.recipient };
  const status = e["delivery-status"];
  if (e.event === "complained") return [{ ...base, type: "complaint", permanent: true, detail: "complained" }];
  if (e.event !== "failed") return [];
  const why = detail(e.severity, e.reason, status?.code, status?.message || status?.description);
  return [{ ...base, type: "bounce", permanent: e.severity === "permanent", detail: why }];
}
