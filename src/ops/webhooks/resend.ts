import { createHmac } from "node:crypto";
import { z } from "zod";
import { badSignature, detail, header, sameSecret, type Headers, type ProviderEvent } from "./common.js";

/**
 * Resend signs with Svix: `svix-signature` holds space-separated `v1,<base64>` entries,
 * each an HMAC-SHA256 of `${svix-id}.${svix-timestamp}.${raw body}` under the
 * base64 key after the secret's `whsec_` prefix. A timestamp more than five minutes
 * off (Svix's own tolerance) is refused: it is a replay or a wrong clock.
 */
export const SVIX_TOLERANCE_SECONDS = 5 * 60;

export function verifyResend(headers: Headers, raw: Buffer, secret: string, now = Date.now()): void {
  const id = header(headers, "svix-id");
  const timestamp = header(headers, "svix-timestamp");
  const signatures = header(headers, "svix-signature");
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) throw badSignature("Resend's svix signature");
  if (Math.abs(now / 1000 - Number(timestamp)) > SVIX_TOLERANCE_SECONDS) {
    throw badSignature("Resend's svix signature (timestamp too old or in the future)");
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(raw).digest("base64");
  const ok = signatures.split(" ").some((entry) => {
    const [version, sig] = entry.split(",", 2);
    return version === "v1" && sig !== undefined && sameSecret(sig, expected);
  });
  if (!ok) throw badSignature("Resend's svix signature");
}

const text = (max: number) => z.string().max(max);

export const resendBody = z.looseObject({
  type: text(100).describe("email.bounced, email.complained, email.delivered, …"),
  created_at: text(100).optional(),
  data: z.looseObject({
    email_id: text(200).optional(),
    to: z.union([text(1000), z.array(text(1000)).max(100)]).optional(),
    subject: text(10_000).optional(),
    bounce: z.looseObject({ type: text(50).optional(), subType: text(100).optional(), message: text(10_000).optional() }).optional(),
  }),
});

export type ResendBody = z.infer<typeof resendBody>;

export function resendEvents(body: ResendBody): ProviderEvent[] {
  const to = typeof body.data.to === "string" ? [body.data.to] : (body.data.to ?? []);
  if (body.type === "email.complained") return to.map((email) => ({ email, type: "complaint", permanent: true, detail: "complained" }));
  if (body.type !== "email.bounced") return [];
  const b = body.data.bounce;
  // Resend sends email.bounced for permanent rejections; a bounce that says otherwise is kept soft.
  const permanent = b?.type === undefined || b.type === "Permanent";
  return to.map((email) => ({ email, type: "bounce", permanent, detail: detail(b?.type, b?.subType, b?.message) }));
}
