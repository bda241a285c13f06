import { verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { badSignature, detail, header, refuseStale, type Headers, type ProviderEvent } from "./common.js";

/**
 * SendGrid's Signed Event Webhook: an ECDSA (P-256, SHA-256) signature, base64 DER in
 * `X-Twilio-Email-Event-Webhook-Signature`, over the `X-Twilio-Email-Event-Webhook-Timestamp`
 * value followed by the raw body, checked with the verification key SendGrid shows.
 * SendGrid documents no freshness window (it batches, and retries for a day), so the
 * window is ours: a week, as long as a delivery is remembered (see refuseStale).
 */
export function verifySendgrid(headers: Headers, raw: Buffer, key: KeyObject, now = new Date()): void {
  const signature = header(headers, "x-twilio-email-event-webhook-signature");
  const timestamp = header(headers, "x-twilio-email-event-webhook-timestamp");
  if (!signature || !timestamp || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim())) throw badSignature("SendGrid's event signature");
  const ok = (() => {
    try {
      return verify("sha256", Buffer.concat([Buffer.from(timestamp, "utf8"), raw]), key, Buffer.from(signature.trim(), "base64"));
    } catch {
      return false; // not a DER signature
    }
  })();
  if (!ok) throw badSignature("SendGrid's event signature");
  refuseStale(/^\d{1,12}$/.test(timestamp) ? Number(timestamp) * 1000 : Number.NaN, now, "SendGrid's event timestamp");
}

const text = (max: number) => z.string().max(max);

const sendgridEvent = z.looseObject({
  event: text(50).describe("processed, delivered, deferred, bounce, dropped, spamreport, open, click, …"),
  email: text(1000).optional(),
  "smtp-id": text(1000).optional().describe("The Message-ID the message went out with"),
  sg_message_id: text(500).optional(),
  type: text(50).optional().describe("For bounce events: bounce (hard) or blocked (soft)"),
  reason: text(10_000).optional(),
  status: text(50).optional(),
  bounce_classification: text(100).optional(),
});

/** A batch of events (SendGrid posts a JSON array). */
export const sendgridBody = z.array(sendgridEvent).max(10_000);

export type SendgridBody = z.infer<typeof sendgridBody>;

export function sendgridEvents(body: SendgridBody): ProviderEvent[] {
  const out: ProviderEvent[] = [];
  for (const e of body) {
    const base = { messageId: e["smtp-id"], email: e.email };
    const why = detail(e.type ?? e.event, e.status, e.reason);
    if (e.event === "spamreport") out.push({ ...base, type: "complaint", permanent: true, detail: why });
    else if (e.event === "bounce") out.push({ ...base, type: "bounce", permanent: e.type !== "blocked", detail: why });
    else if (e.event === "dropped") {
      // SendGrid refused to send because of its own suppression lists: it will keep refusing.
      if (/bounced address|invalid/i.test(e.reason ?? "")) out.push({ ...base, type: "bounce", permanent: true, detail: why });
      else if (/spam reporting address/i.test(e.reason ?? "")) out.push({ ...base, type: "complaint", permanent: true, detail: why });
    }
  }
  return out;
}
