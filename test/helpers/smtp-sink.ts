import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";

export interface SinkMessage {
  raw: Buffer;
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
}

type Answer = { code: number; message: string } | undefined;

/**
 * What the sink answers to one message: undefined accepts it. A promise holds the
 * message unanswered until it settles (a slow relay, or one that keeps a message
 * while the test kills the sender).
 */
export type Responder = (info: { count: number; to: string[]; raw: Buffer }) => Answer | Promise<Answer>;

/** The Message-ID a message arrived with ("?" without one). */
export const messageId = (m: Pick<SinkMessage, "raw">): string => /^Message-ID:\s*(\S+)/im.exec(m.raw.toString("latin1"))?.[1] ?? "?";

export interface SmtpSink {
  port: number;
  url: string;
  messages: SinkMessage[];
  /** Replace how the sink answers (e.g. 421 once, or 550 for one address). */
  respond(fn: Responder | undefined): void;
  /** SMTP sessions: open now, the most open at once, and opened in all. */
  sessions(): { open: number; peak: number; total: number };
  /** Closes every open session from the server's side (an idle timeout, a restart). */
  dropSessions(): void;
  /** Resolves once at least n messages arrived, or rejects after timeoutMs. */
  waitFor(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

/** A real SMTP server in the test process; every accepted message is parsed with mailparser. */
export async function startSmtpSink(opts: { parse?: boolean; port?: number } = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  let responder: Responder | undefined;
  let attempts = 0;
  const waiters: (() => void)[] = [];
  const sessions = { open: 0, peak: 0, total: 0 };

  const server = new SMTPServer({
    onConnect(_session, callback) {
      sessions.total++;
      sessions.peak = Math.max(sessions.peak, ++sessions.open);
      callback();
    },
    onClose() {
      sessions.open--;
    },
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        const done = (parsed: ParsedMail) => {
          messages.push({ raw, envelope: { from, to }, parsed });
          waiters.splice(0).forEach((w) => w());
          callback();
        };
        const answered = (answer: Answer) => {
          if (answer) {
            callback(Object.assign(new Error(answer.message), { responseCode: answer.code }));
            return;
          }
          if (opts.parse === false) done({} as ParsedMail);
          else simpleParser(raw).then(done, (err: Error) => callback(err));
        };
        const answer = responder?.({ count: ++attempts, to, raw });
        // A plain answer goes out in this turn, as before; only a held one waits.
        if (answer instanceof Promise) answer.then(answered, (err: Error) => callback(err));
        else answered(answer);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    respond(fn) {
      responder = fn;
    },
    sessions: () => ({ ...sessions }),
    dropSessions() {
      // smtp-server keeps its sessions in a set; each closes its socket from the server's side.
      for (const c of (server as unknown as { connections: Set<{ close(): void }> }).connections) c.close();
    },
    waitFor(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`expected ${n} messages, got ${messages.length}`)), timeoutMs);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(deadline);
            resolve(messages);
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
