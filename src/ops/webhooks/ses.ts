import { X509Certificate, verify } from "node:crypto";
import { z } from "zod";
import { AppError, validationError } from "../../errors.js";
import { badSignature, detail, refuseStale, type ProviderEvent } from "./common.js";

/**
 * Amazon SES bounce and complaint notifications, posted by an SNS topic's HTTPS
 * subscription. Every SNS message (the SubscriptionConfirmation handshake included)
 * is signed: RSA over a canonical "Key\nValue\n" string of its fields, SHA1 for
 * SignatureVersion 1 and SHA256 for 2, with the certificate at SigningCertURL —
 * which must be an https URL on an sns.<region>.amazonaws.com host, or anyone could
 * sign with their own. Only the topics in SES_SNS_TOPIC_ARNS are accepted.
 * Raw message delivery must stay off: it drops the signature.
 */

/** GETs an SNS URL (a signing certificate, a SubscribeURL) and returns the body. */
export type SnsFetch = (url: URL) => Promise<string>;

/** A failed GET: `status` is the HTTP status when there was an answer. */
export class SnsFetchError extends Error {
  override name = "SnsFetchError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const MAX_FETCH_BYTES = 64 * 1024;

/**
 * The fetcher for SNS URLs. `baseUrl` sends every request to another origin with the
 * same path (tests serve a certificate from a local server); production leaves it unset.
 */
export function createSnsFetch(opts: { timeoutMs: number; baseUrl?: string }): SnsFetch {
  return async (url) => {
    const target = opts.baseUrl ? new URL(`${url.pathname}${url.search}`, opts.baseUrl) : url;
    let res: Response;
    try {
      res = await fetch(target, { redirect: "error", signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (err) {
      throw new SnsFetchError(`GET ${url.hostname}${url.pathname} failed: ${(err as Error).message}`);
    }
    const body = await res.text();
    if (!res.ok) throw new SnsFetchError(`GET ${url.hostname}${url.pathname} answered ${res.status}`, res.status);
    if (body.length > MAX_FETCH_BYTES) throw new SnsFetchError(`GET ${url.hostname}${url.pathname} answered more than ${MAX_FETCH_BYTES} bytes`, res.status);
    return body;
  };
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** The URL when it is an https URL on an SNS host (no credentials, no other port), else null. */
export function snsUrl(value: string): URL | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return null;
  }
  return u.protocol === "https:" && SNS_HOST.test(u.hostname) && u.port === "" && !u.username && !u.password ? u : null;
}

const text = (max: number) => z.string().max(max);

/** The SNS envelope (what is POSTed, as text/plain JSON). */
export const snsBody = z.looseObject({
  Type: z.enum(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
  MessageId: text(200),
  TopicArn: text(400),
  Message: text(256 * 1024),
  Timestamp: text(100),
  SignatureVersion: z.enum(["1", "2"]),
  Signature: text(2000),
  SigningCertURL: text(2000),
  Subject: text(1000).optional(),
  SubscribeURL: text(2000).optional(),
  Token: text(2000).optional(),
});

export type SnsMessage = z.infer<typeof snsBody>;

/** The fields SNS signs, in its order, for each message type. */
function stringToSign(m: SnsMessage): string {
  const keys: (keyof SnsMessage)[] =
    m.Type === "Notification"
      ? ["Message", "MessageId", ...(m.Subject !== undefined ? (["Subject"] as const) : []), "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  let out = "";
  for (const k of keys) {
    const v = m[k];
    if (typeof v !== "string") throw badSignature(`SNS's signed field ${k}`);
    out += `${k}\n${v}\n`;
  }
  return out;
}

export interface SnsVerifier {
  /** Throws 401 for a bad signature, 403 for a topic we do not accept. */
  verify(m: SnsMessage): Promise<void>;
  /** GETs the SubscribeURL of a verified SubscriptionConfirmation; false when SNS could not be reached. */
  confirm(m: SnsMessage): Promise<boolean>;
}

const CERT_CACHE = 20;

export function createSnsVerifier(opts: { fetch: SnsFetch; topicArns: readonly string[]; now?: () => Date }): SnsVerifier {
  const topics = new Set(opts.topicArns);
  const certs = new Map<string, Promise<X509Certificate>>();

  async function certificate(url: URL): Promise<X509Certificate> {
    const key = url.href;
    let pending = certs.get(key);
    if (!pending) {
      pending = opts.fetch(url).then((pem) => new X509Certificate(pem));
      if (certs.size >= CERT_CACHE) certs.clear();
      certs.set(key, pending);
      // A failure is not remembered: the next message tries again.
      pending.catch(() => certs.delete(key));
    }
    try {
      return await pending;
    } catch (err) {
      // No such certificate (4xx) or not a certificate: the message cannot be from SNS.
      // SNS unreachable or failing (no answer, 5xx) is ours to retry: SNS retries what we do not accept.
      if (err instanceof SnsFetchError && (err.status === undefined || err.status >= 500)) {
        throw new AppError("UPSTREAM", "SNS's signing certificate could not be fetched.", undefined, { cause: err });
      }
      throw badSignature("SNS's signing certificate");
    }
  }

  return {
    async verify(m) {
      if (!topics.has(m.TopicArn)) throw new AppError("FORBIDDEN", "This SNS topic is not accepted: add its ARN to SES_SNS_TOPIC_ARNS.", "TopicArn");
      const certUrl = snsUrl(m.SigningCertURL);
      if (!certUrl || !certUrl.pathname.endsWith(".pem")) throw badSignature("SNS's SigningCertURL (an https .pem URL on sns.<region>.amazonaws.com)");
      const cert = await certificate(certUrl);
      const now = (opts.now?.() ?? new Date()).getTime();
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw badSignature("SNS's signing certificate (expired or not yet valid)");
      const data = Buffer.from(stringToSign(m), "utf8");
      const ok = (() => {
        try {
          return verify(m.SignatureVersion === "1" ? "sha1" : "sha256", data, cert.publicKey, Buffer.from(m.Signature, "base64"));
        } catch {
          return false;
        }
      })();
      if (!ok) throw badSignature("SNS's message signature");
      // SNS retries for about an hour at most: an older message is a replay.
      refuseStale(Date.parse(m.Timestamp), new Date(now), "SNS's message Timestamp");
    },
    async confirm(m) {
      const url = m.SubscribeURL ? snsUrl(m.SubscribeURL) : null;
      if (!url) throw validationError("SubscribeURL", "SubscribeURL must be an https URL on sns.<region>.amazonaws.com");
      try {
        await opts.fetch(url);
        return true;
      } catch {
        return false;
      }
    },
  };
}

const recipient = z.looseObject({
  emailAddress: text(1000),
  status: text(50).optional(),
  action: text(50).optional(),
  diagnosticCode: text(10_000).optional(),
});

/** SES's notification (the SNS Message, itself JSON): notificationType, or eventType for configuration-set events. */
export const sesNotification = z.looseObject({
  notificationType: text(50).optional(),
  eventType: text(50).optional(),
  mail: z
    .looseObject({
      messageId: text(200).optional(),
      headers: z.array(z.looseObject({ name: text(1000), value: text(100_000) })).max(2000).optional(),
      commonHeaders: z.looseObject({ messageId: text(1000).optional() }).optional(),
    })
    .optional(),
  bounce: z
    .looseObject({
      bounceType: text(50).describe("Permanent, Transient or Undetermined"),
      bounceSubType: text(100).optional(),
      bouncedRecipients: z.array(recipient).max(1000),
    })
    .optional(),
  complaint: z
    .looseObject({
      complainedRecipients: z.array(z.looseObject({ emailAddress: text(1000) })).max(1000),
      complaintFeedbackType: text(100).optional(),
      complaintSubType: text(100).nullable().optional(),
    })
    .optional(),
});

export type SesNotification = z.infer<typeof sesNotification>;

/** The SNS Message parsed as SES's notification; 400 naming the field when it is not one. */
export function parseSesNotification(message: string): SesNotification {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw validationError("Message", "Message: is not JSON (raw message delivery must be off)");
  }
  const parsed = sesNotification.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ["Message", ...(issue?.path ?? []).map(String)].join(".");
    throw validationError(field, `${field}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Our Message-ID as SES saw it (SES sets its own on the wire; the original is in the headers when they are included). */
function originalMessageId(n: SesNotification): string | undefined {
  const mail = n.mail;
  return mail?.commonHeaders?.messageId ?? mail?.headers?.find((h) => h.name.toLowerCase() === "message-id")?.value ?? mail?.messageId;
}

export function sesEvents(n: SesNotification): ProviderEvent[] {
  const kind = n.notificationType ?? n.eventType;
  const messageId = originalMessageId(n);
  if (kind === "Bounce" && n.bounce) {
    const b = n.bounce;
    const permanent = b.bounceType === "Permanent";
    return b.bouncedRecipients.map((r) => ({
      messageId,
      email: r.emailAddress,
      type: "bounce" as const,
      permanent,
      detail: detail(`${b.bounceType}/${b.bounceSubType ?? "General"}`, r.diagnosticCode ?? r.status),
    }));
  }
  if (kind === "Complaint" && n.complaint) {
    const c = n.complaint;
    // A feedback report that says "not spam" is no complaint.
    if (c.complaintFeedbackType === "not-spam") return [];
    return c.complainedRecipients.map((r) => ({
      messageId,
      email: r.emailAddress,
      type: "complaint" as const,
      permanent: true,
      detail: detail("complaint", c.complaintFeedbackType ?? c.complaintSubType),
    }));
  }
  return [];
}
