import SMTPConnection from "nodemailer/lib/smtp-connection/index.js";

/**
 * A pool of SMTP sessions that sends finished messages: nodemailer's documented
 * SMTPConnection (the same client its pooled transport runs), without the transport's
 * per-message layer. That layer (Mail, MailComposer and MimeNode around a raw message,
 * a generated Message-ID, a stream pipeline per message) cost ~80 µs of CPU per 48 KB
 * digest on the 2-core machine, about as much as the SMTP session itself, for a message
 * that is already finished. A Buffer goes to the session as one write.
 *
 * What it keeps from nodemailer's pool: at most `size` sessions, each sending one
 * message at a time; a session the server refused a message on (a 4xx/5xx to the
 * envelope or the data, other than 421) is reset and used again; any other error
 * closes it; a session the server closed while idle is dropped and the next message
 * opens a new one. It never sends a message twice on its own: a session that drops
 * mid-message is the caller's transient failure (nodemailer's pool re-sends only when
 * not a byte had gone out, which the digest sender does itself by putting the digest
 * back to `queued`).
 */

export type SessionOptions = SMTPConnection.Options;

export interface SentInfo {
  accepted: string[];
  response: string;
  /** Every byte of the message had left for the OS when the server answered: its memory may be reused. */
  flushed: boolean;
}

export interface SmtpSessionPool {
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<SentInfo>;
  close(): void;
}

type Session = SMTPConnection & { destroyed?: boolean };

/**
 * Whether the message's data stream has ended and the socket holds none of its bytes. A
 * relay can answer before it has read the end of data (a broken one, or one that answers
 * early): then bytes may still wait to be written. Read from nodemailer's internals, so
 * if they change the answer is "no" and the caller simply does not reuse the memory.
 */
function flushed(s: Session): boolean {
  const inner = s as unknown as { _currentDataStream?: unknown; _socket?: { writableLength?: unknown } };
  return inner._currentDataStream === false && inner._socket?.writableLength === 0;
}

/** An envelope or message the server refused; the session itself is fine. */
function refusedOnly(err: unknown, session: Session): boolean {
  const e = err as { code?: unknown; responseCode?: unknown };
  return (e.code === "EENVELOPE" || e.code === "EMESSAGE") && e.responseCode !== 421 && session.destroyed !== true;
}

export function createSmtpSessionPool(options: SessionOptions, size: number, auth?: SMTPConnection.Credentials): SmtpSessionPool {
  const idle: Session[] = [];
  /** Sessions open, idle or busy; with those `starting`, at most `size`. */
  const live = new Set<Session>();
  /** Sessions still connecting or logging in: they hold a place, and close() must reach them too. */
  const starting = new Set<Session>();
  const waiting: (() => void)[] = [];
  let closed = false;

  const wakeOne = () => waiting.shift()?.();

  const forget = (s: Session) => {
    if (!live.delete(s)) return;
    const at = idle.indexOf(s);
    if (at !== -1) idle.splice(at, 1);
    wakeOne();
  };

  const poolClosed = () => Object.assign(new Error("SMTP pool closed"), { code: "ECONNECTION" });

  function open(): Promise<Session> {
    const s = new SMTPConnection(options) as Session;
    starting.add(s);
    // Errors of a session in a transaction reach its send callback as well; an idle one's only close it.
    s.on("error", () => undefined);
    s.once("end", () => forget(s));
    return new Promise<Session>((resolve, reject) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        // From starting to live in one step: the place it holds in the pool is never free in between.
        starting.delete(s);
        s.off("error", settle);
        s.off("end", closedEarly);
        if (err === undefined) {
          live.add(s);
          return resolve(s);
        }
        s.close();
        reject(err instanceof Error ? err : new Error("SMTP session could not be opened"));
      };
      // A refused connection or a timeout is an 'error' event, not the connect callback's.
      const closedEarly = () => settle(Object.assign(new Error("Connection closed unexpectedly"), { code: "ECONNECTION" }));
      s.on("error", settle);
      s.once("end", closedEarly);
      s.connect((err?: Error) => {
        if (err) return settle(err);
        if (!auth || !s.allowsAuth) return settle();
        s.login(auth, (loginErr) => settle(loginErr ?? undefined));
      });
    });
  }

  async function acquire(): Promise<Session> {
    for (;;) {
      if (closed) throw poolClosed();
      const ready = idle.pop();
      if (ready) {
        if (ready.destroyed) {
          forget(ready);
          continue;
        }
        return ready;
      }
      if (live.size + starting.size < size) {
        let s: Session;
        try {
          s = await open();
        } catch (err) {
          // A failed open frees its place for whoever waits.
          wakeOne();
          throw err;
        }
        // close() came while it was opening: nothing goes out after close().
        if (closed) {
          release(s, false);
          throw poolClosed();
        }
        return s;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  function release(s: Session, usable: boolean): void {
    if (!usable || closed || s.destroyed) {
      live.delete(s);
      s.close();
      wakeOne();
      return;
    }
    idle.push(s);
    wakeOne();
  }

  return {
    async send(envelope, raw) {
      const s = await acquire();
      return new Promise<SentInfo>((resolve, reject) => {
        // SMTPConnection.close() (ours, in close()) drops the transaction's callback: without this the
        // send would never settle. After an error of its own the callback follows in the same turn,
        // so the later reject is a no-op and the caller gets the server's error.
        const dropped = () => setImmediate(() => reject(Object.assign(new Error("SMTP session closed before the server answered"), { code: "ECONNECTION" })));
        s.once("end", dropped);
        // SMTPConnection keeps its state on the envelope object: one fresh object per message.
        s.send({ from: envelope.from, to: [...envelope.to] }, raw, (err, info) => {
          s.off("end", dropped);
          if (!err) {
            // nodemailer's pool, too, hands the session back on the next turn: the server's last reply is fully read.
            setImmediate(() => release(s, true));
            resolve({ accepted: info.accepted.map(String), response: info.response, flushed: flushed(s) });
            return;
          }
          if (refusedOnly(err, s)) {
            s.reset((resetErr) => release(s, !resetErr));
          } else {
            release(s, false);
          }
          reject(err);
        });
      });
    },
    close() {
      closed = true;
      for (const s of [...live, ...starting]) s.close();
      live.clear();
      idle.length = 0;
      for (const wake of waiting.splice(0)) wake();
    },
  };
}
