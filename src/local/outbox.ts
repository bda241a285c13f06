import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** One message the local outbox received, as a mail client would see it. */
export interface OutboxMessage {
  id: string;
  receivedAt: Date;
  from: string;
  to: string[];
  subject: string;
  html: string | null;
  text: string | null;
  headers: { key: string; value: string }[];
  size: number;
}

export interface Outbox {
  readonly port: number;
  readonly smtpUrl: string;
  list(): OutboxMessage[];
  get(id: string): OutboxMessage | undefined;
  close(): Promise<void>;
}

const KEEP = 1000;

async function parse(id: string, raw: Buffer, receivedAt: Date): Promise<OutboxMessage> {
  const mail = await simpleParser(raw);
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return {
    id,
    receivedAt,
    from: mail.from?.text ?? "",
    to: to.flatMap((a) => a.value.map((v) => v.address ?? "")),
    subject: mail.subject ?? "",
    html: typeof mail.html === "string" ? mail.html : null,
    text: mail.text ?? null,
    headers: mail.headerLines.map((h) => ({ key: h.key, value: h.line.slice(h.line.indexOf(":") + 1).trim() })),
    size: raw.length,
  };
}

/**
 * The local outbox behind `npm start` without SMTP_URL: a real SMTP server in this
 * process that keeps every message as an .eml file under `dir`, newest first.
 */
export async function startOutbox(opts: { dir: string; port: number; host?: string }): Promise<Outbox> {
  await mkdir(opts.dir, { recursive: true });
  const messages: OutboxMessage[] = [];
  const files = (await readdir(opts.dir)).filter((f) => f.endsWith(".eml")).sort().slice(-KEEP);
  for (const file of files) {
    const raw = await readFile(path.join(opts.dir, file));
    const ms = Number(file.split("-")[0]);
    messages.unshift(await parse(file.replace(/\.eml$/, ""), raw, new Date(Number.isFinite(ms) ? ms : 0)));
  }
  let seq = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    disableReverseLookup: true,
    logger: false,
    size: 25 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        const receivedAt = new Date();
        const id = `${receivedAt.getTime()}-${String(++seq).padStart(6, "0")}`;
        writeFile(path.join(opts.dir, `${id}.eml`), raw)
          .then(() => parse(id, raw, receivedAt))
          .then((msg) => {
            messages.unshift(msg);
            if (messages.length > KEEP) messages.length = KEEP;
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      });
    },
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;

  return {
    port,
    smtpUrl: `smtp://${host}:${port}`,
    list: () => messages,
    get: (id) => messages.find((m) => m.id === id),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
