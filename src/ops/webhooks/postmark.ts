import { z } from "zod";
import { badSignature, detail, header, sameSecret, type Headers, type ProviderEvent } from "./common.js";

/**
 * Postmark's bounce and spam-complaint webhooks. Postmark signs nothing; it documents
 * basic HTTP authentication in the webhook URL (https://user:password@host/…), and
 * its webhook settings can add custom headers, so either credential is accepted:
 * `Authorization: Basic` with POSTMARK_WEBHOOK_USER:POSTMARK_WEBHOOK_PASSWORD, or
 * `X-Webhook-Token: <POSTMARK_WEBHOOK_PASSWORD>`.
 */

export function verifyPostmark(headers: Headers, user: string, password: string): void {
  const token = header(headers, "x-webhook-token");
  if (token !== undefined && sameSecret(token, password)) return;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header(headers, "authorization") ?? "");
  if (m?.[1] && sameSecret(Buffer.from(m[1], "base64"), `${user}:${password}`)) return;
  throw badSignature("Postmark's basic-auth credential (or X-Webhook-Token)");
}

const text = (max: number) => z.string().max(max);

/** The fields we read; Postmark sends many more (ServerID, Tag, Metadata, Content…), all allowed. */
export const postmarkBody = z.looseObject({
  RecordType: text(50).describe("Bounce, SpamComplaint, Delivery, Open, Click, SubscriptionChange"),
  Type: text(100).optional().describe("HardBounce, SoftBounce, Transient, SpamComplaint, …"),
  TypeCode: z.number().optional(),
  MessageID: text(200).optional(),
  Email: text(1000).optional(),
  Description: text(10_000).optional(),
  Details: text(10_000).optional(),
  Inactive: z.boolean().optional().describe("Postmark deactivated the address: it will not send to it again"),
});

export type PostmarkBody = z.infer<typeof postmarkBody>;

/** Hard: the address does not exist or Postmark will not send to it again. */
const HARD = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated"]);
/** Not bounces at all (auto-replies, list requests, address changes): ignored. */
const NOT_BOUNCES = new Set(["AutoResponder", "Subscribe", "Unsubscribe", "AddressChange", "ChallengeVerification", "OpenRelayTest", "Unconfirmed"]);

export function postmarkEvents(body: PostmarkBody): ProviderEvent[] {
  const base = { messageId: body.MessageID, email: body.Email };
  if (body.RecordType === "SpamComplaint" || body.Type === "SpamComplaint") {
    return [{ ...base, type: "complaint", permanent: true, detail: detail("SpamComplaint", body.Details) }];
  }
  if (body.RecordType !== "Bounce" || !body.Type || NOT_BOUNCES.has(body.Type)) return [];
  const permanent = HARD.has(body.Type) || body.Inactive === true;
  return [{ ...base, type: "bounce", permanent, detail: detail(body.Type, body.Details ?? body.Description) }];
}
