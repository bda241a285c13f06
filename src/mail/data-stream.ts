import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * nodemailer's SMTP data stream (smtp-connection/data-stream.js) dot-stuffs lines and
 * turns bare CR or LF into CRLF by looking at every byte in JS: ~4 ns a byte on the
 * 2-core machine, 170–200 µs for a 40 KB digest, the largest single cost of sending
 * one (the whole budget for 2,500 emails/s is ~800 µs of CPU). Our MIME writer emits
 * CRLF lines, so for nearly every chunk that loop changes nothing.
 *
 * passesThrough() finds that out with Buffer#indexOf (native) once per line instead,
 * and such a chunk is handed on exactly as nodemailer would (same bytes, same byte
 * counts). Any chunk with something to change (a line starting with ".", a bare CR or
 * LF, a CR at the chunk's end) still goes through nodemailer's own code. The override
 * is installed only after it has produced nodemailer's output on a sample that
 * exercises every rule, so a nodemailer release that changes the stream switches it
 * off instead of changing what goes on the wire.
 *
 * Nothing installs it on import: the entry points do (main/fast-paths.ts), unless
 * MAIL_FAST_PATHS=false, and they log and export (a gauge) whether it is engaged.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/**
 * Whether nodemailer's data stream would pass `chunk` on unchanged, given the last
 * byte of the previous chunk (`false` at the start of the message): every CR is
 * followed by LF, every LF follows a CR, no line starts with a dot.
 */
export function passesThrough(chunk: Buffer, lastByte: number | false): boolean {
  const len = chunk.length;
  if (len === 0) return true;
  const first = chunk[0];
  if (lastByte === CR && first !== LF) return false;
  if (first === LF && lastByte !== CR) return false;
  if (first === DOT && (lastByte === LF || lastByte === false)) return false;
  if (chunk[len - 1] === CR) return false;
  let from = 0;
  let lf = chunk.indexOf(LF);
  for (;;) {
    // The only CR a line may hold is the one right before its LF.
    const cr = chunk.indexOf(CR, from);
    if (lf === -1) return cr === -1;
    if (cr !== -1 && cr < lf && cr !== lf - 1) return false;
    if (lf > 0 && chunk[lf - 1] !== CR) return false;
    if (lf + 1 < len && chunk[lf + 1] === DOT) return false;
    from = lf + 1;
    lf = chunk.indexOf(LF, from);
  }
}

interface DataStreamState {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  push(chunk: Buffer): boolean;
}

export type Transform = (this: DataStreamState, chunk: unknown, encoding: BufferEncoding, done: (err?: Error | null) => void) => void;

export interface DataStreamClass {
  new (): DataStreamState & NodeJS.ReadWriteStream;
  prototype: { _transform: Transform };
}

/** Chunks that exercise each of nodemailer's rules, split at awkward places. */
const SAMPLE = [".start\r\nbare\nlf\rcr\r\n.dot\r\n..two\r\nend\r", "\n.after-split-crlf\r\n", "\r", "x\r\n", ".", "y\n", "\nz"];

function run(ctor: DataStreamClass, chunks: string[]): Promise<{ out: Buffer; inBytes: number; outBytes: number }> {
  return new Promise((resolve, reject) => {
    const s = new ctor();
    const parts: Buffer[] = [];
    s.on("data", (c: Buffer) => parts.push(c));
    s.on("error", reject);
    s.on("end", () => resolve({ out: Buffer.concat(parts), inBytes: s.inByteCount, outBytes: s.outByteCount }));
    for (const c of chunks) s.write(Buffer.from(c));
    s.end();
  });
}

export interface NodemailerDataStream {
  ctor: DataStreamClass;
  /** nodemailer's own `_transform`, also after the fast path is installed. */
  original: Transform;
}

let loaded: Promise<NodemailerDataStream | null> | undefined;

/** nodemailer's data stream class, or null when this nodemailer has none where we look. */
export function nodemailerDataStream(): Promise<NodemailerDataStream | null> {
  loaded ??= (async () => {
    const cjsEntry = createRequire(import.meta.url).resolve("nodemailer");
    // The same file smtp-connection imports, so the same class (the package does not export it).
    const file = join(dirname(dirname(cjsEntry)), "esm", "smtp-connection", "data-stream.js");
    if (!existsSync(file)) return null;
    const ctor = ((await import(pathToFileURL(file).href)) as { default?: DataStreamClass }).default;
    if (typeof ctor?.prototype?._transform !== "function") return null;
    return { ctor, original: ctor.prototype._transform };
  })().catch(() => null);
  return loaded;
}

let installed: Promise<boolean> | undefined;

/** Installs the pass-through once per process; resolves to whether it is active. */
export function installDataStreamFastPath(): Promise<boolean> {
  installed ??= (async () => {
    try {
      const found = await nodemailerDataStream();
      if (!found) return false;
      const { ctor, original } = found;
      const expected = await Promise.all([run(ctor, SAMPLE), run(ctor, ["plain\r\nlines\r\n", "only\r\n"])]);
      const fast: Transform = function (chunk, encoding, done) {
        if (!Buffer.isBuffer(chunk) || chunk.length === 0 || !passesThrough(chunk, this.lastByte)) {
          original.call(this, chunk, encoding, done);
          return;
        }
        this.inByteCount += chunk.length;
        this.outByteCount += chunk.length;
        this.push(chunk);
        this.lastByte = chunk[chunk.length - 1] ?? false;
        done();
      };
      ctor.prototype._transform = fast;
      const got = await Promise.all([run(ctor, SAMPLE), run(ctor, ["plain\r\nlines\r\n", "only\r\n"])]);
      const same = got.every((g, i) => {
        const e = expected[i];
        return e !== undefined && g.out.equals(e.out) && g.inBytes === e.inBytes && g.outBytes === e.outBytes;
      });
      if (!same) ctor.prototype._transform = original;
      return same;
    } catch {
      return false;
    }
  })();
  return installed;
}
