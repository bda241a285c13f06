import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import type StreamTransport from "nodemailer/lib/stream-transport/index.js";
import type { Mailer, OutgoingMail, SendResult } from "./mailer.js";
import { createSmtpSessionPool } from "./smtp-pool.js";

export interface TransportOptions {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  from: string;
  poolSize: number;
  /** Longest wait for any one reply of the server; connecting and its greeting get at most 10 s of it. */
  timeoutMs: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string } | undefined;
  /**
   * Send through our pool of nodemailer SMTP sessions (smtp-pool.ts) instead of
   * nodemailer's pooled transport: MAIL_FAST_PATHS. Composed mail and DKIM signing still
   * go through nodemailer's Mail layer (into a Buffer); only the finished bytes skip it.
   */
  sessionPool?: boolean | undefined;
}

/**
 * nodemailer's default DKIM header list lacks List-Unsubscribe-Post; RFC 8058 asks
 * that both List-Unsubscribe headers are signed, so name them explicitly.
 */
export const DKIM_HEADER_FIELDS =
  "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:List-Unsubscribe-Post";

/** SMTP behind the Mailer interface: nodemailer's pooled transport, or (MAIL_FAST_PATHS) its composer and our pool of its sessions. */
export function createSmtpMailer(opts: TransportOptions): Mailer {
  const url = new URL(opts.url);
  const session = {
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
    secure: url.protocol === "smtps:",
    // Local sinks and mailpit speak plain SMTP; real servers are offered STARTTLS.
    ignoreTLS: ["localhost", "127.0.0.1", "::1"].includes(url.hostname),
    tls: { rejectUnauthorized: url.searchParams.get("tls_reject_unauthorized") !== "false" },
    // A server that stops answering is "away" (a transient failure), not a hung lane.
    connectionTimeout: Math.min(10_000, opts.timeoutMs),
    greetingTimeout: Math.min(10_000, opts.timeoutMs),
    socketTimeout: opts.timeoutMs,
  };
  const auth = url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined;
  const dkim = opts.dkim ? { dkim: { ...opts.dkim, headerFieldNames: DKIM_HEADER_FIELDS } } : {};
  return opts.sessionPool ? sessionPoolMailer(opts, session, auth, dkim) : transportMailer(opts, session, auth, dkim);
}

/** What nodemailer composes an OutgoingMail from, on either path. */
const composed = (from: string, mail: OutgoingMail) => ({
  from,
  to: mail.to,
  subject: mail.subject,
  html: mail.html,
  text: mail.text,
  messageId: mail.messageId,
  headers: mail.headers,
});

type Session = Pick<SMTPTransport.Options, "host" | "port" | "secure" | "ignoreTLS" | "tls" | "connectionTimeout" | "greetingTimeout" | "socketTimeout">;
type Auth = { user: string; pass: string } | undefined;
type Dkim = Pick<SMTPTransport.Options, "dkim">;

/** nodemailer's pooled SMTP transport composes, signs and sends: the plain path (MAIL_FAST_PATHS=false). */
function transportMailer(opts: TransportOptions, session: Session, auth: Auth, dkim: Dkim): Mailer {
  const transportOptions: SMTPTransport.Options & { pool: true; maxConnections: number; maxMessages: number } = {
    pool: true,
    maxConnections: opts.poolSize,
    maxMessages: Infinity,
    ...session,
    auth,
    ...dkim,
  };
  const transport = nodemailer.createTransport(transportOptions);

  const result = (info: SMTPTransport.SentMessageInfo, fallbackId: string): SendResult => ({
    messageId: info.messageId || fallbackId,
    accepted: (info.accepted as unknown[]).map((a) => (typeof a === "string" ? a : (a as { address: string }).address)),
    response: info.response,
  });

  return {
    from: opts.from,
    async send(mail: OutgoingMail) {
      const info = await transport.sendMail(composed(opts.from, mail));
      return result(info, mail.messageId ?? "");
    },
    async sendRaw(envelope, raw, messageId) {
      const info = await transport.sendMail({ envelope, raw, messageId });
      return result(info, messageId);
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}

/**
 * nodemailer composes (and DKIM-signs) into a Buffer, exactly as its SMTP transport
 * would before sending; our session pool sends it. A finished message without DKIM
 * goes straight to the pool.
 */
function sessionPoolMailer(opts: TransportOptions, session: Session, auth: Auth, dkim: Dkim): Mailer {
  const pool = createSmtpSessionPool(session, opts.poolSize, auth);
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows", ...dkim });
  const compose = async (mail: Parameters<typeof composer.sendMail>[0]) => {
    const info: StreamTransport.SentMessageInfo = await composer.sendMail(mail);
    const envelope = { from: info.envelope.from || "", to: info.envelope.to };
    return { envelope, raw: info.message as Buffer, messageId: info.messageId };
  };
  const sent = async (envelope: { from: string; to: string[] }, raw: Buffer, messageId: string): Promise<SendResult> => {
    const info = await pool.send(envelope, raw);
    return { messageId, accepted: info.accepted, response: info.response, flushed: info.flushed };
  };
  return {
    from: opts.from,
    async send(mail: OutgoingMail) {
      const m = await compose(composed(opts.from, mail));
      return sent(m.envelope, m.raw, m.messageId || mail.messageId || "");
    },
    async sendRaw(envelope, raw, messageId) {
      if (!opts.dkim) return sent({ from: envelope.from, to: [envelope.to] }, Buffer.isBuffer(raw) ? raw : Buffer.from(raw), messageId);
      const m = await compose({ envelope, raw, messageId });
      return sent(m.envelope, m.raw, messageId);
    },
    close() {
      pool.close();
      return Promise.resolve();
    },
  };
}
