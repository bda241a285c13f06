/** What the rest of paperboy needs from a mail transport. */
export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Without angle brackets' content rules: pass `<local@domain>`. */
  messageId?: string;
  headers?: Record<string, string>;
}

export interface SendResult {
  messageId: string;
  accepted: string[];
  response: string;
  /** The raw message's bytes were all written out when the server answered: its buffer may be reused. */
  flushed?: boolean;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<SendResult>;
  /** A prepared RFC 5322 message, for senders that build MIME themselves. */
  sendRaw(envelope: { from: string; to: string }, raw: string | Buffer, messageId: string): Promise<SendResult>;
  readonly from: string;
  close(): Promise<void>;
}
