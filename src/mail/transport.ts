import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import type { Mailer, OutgoingMail, SendResult } from "./mailer.js";

export interface TransportOptions {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  from: string;
  poolSize: number;
  /** Longest wait for any one reply of the server; connecting and its greeting get at most 10 s of it. */
  timeoutMs: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string } | undefined;
}

/**
 * nodemailer's default DKIM header list lacks List-Unsubscribe-Post; RFC 8058 asks
 * that both List-Unsubscribe headers are signed, so name them explicitly.
 */
export const DKIM_HEADER_FIELDS =
  "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:List-Unsubscribe-Post";

/** The one nodemailer import: a pooled SMTP transport behind the Mailer interface. */
export function createSmtpMailer(opts: TransportOptions): Mailer {
  const url = new URL(opts.url);
  const transportOptions: SMTPTransport.Options & { pool: true; maxConnections: number; maxMessages: number } = {
    pool: true,
    maxConnections: opts.poolSize,
    maxMessages: Infinity,
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
    secure: url.protocol === "smtps:",
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // Local sinks and mailpit speak plain SMTP; real servers are offered STARTTLS.
    ignoreTLS: ["localhost", "127.0.0.1", "::1"].includes(url.hostname),
    tls: { rejectUnauthorized: url.searchParams.get("tls_reject_unauthorized") !== "false" },
    // A server that stops answering is "away" (a transient failure), not a hung lane.
    connectionTimeout: Math.min(10_000, opts.timeoutMs),
    greetingTimeout: Math.min(10_000, opts.timeoutMs),
    socketTimeout: opts.timeoutMs,
    ...(opts.dkim ? { dkim: { ...opts.dkim, headerFieldNames: DKIM_HEADER_FIELDS } } : {}),
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
      const info = await transport.sendMail({
        from: opts.from,
        to: mail.to,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        messageId: mail.messageId,
        headers: mail.headers,
      });
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
