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
 * dotStuffed() finds that out with Buffer#indexOf (native) once per line instead: a
 * chunk whose line ends are all CRLF is handed on exactly as nodemailer would (same
 * bytes, same byte counts), with a dot put before each line that starts with one (an
 * MJML email's CSS has such lines, so that case is common, not rare). Any chunk with
 * something else to change (a bare CR or LF, a CR at the chunk's end) still goes
 * through nodemailer's own code. The override
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
 * Where nodemailer's data stream would put a dot into `chunk` (before each of these
 * offsets), given the last byte of the previous chunk (`false` at the start of the
 * message), when every CR is followed by LF and every LF follows a CR; null when the
 * chunk has a line end to fix.
 */
function dotsAt(chunk: Buffer, lastByte: number | false): number[] | null {
  const len = chunk.length;
  const dots: number[] = [];
  if (len === 0) return dots;
  const first = chunk[0];
  if (lastByte === CR && first !== LF) return null;
  if (first === LF && lastByte !== CR) return null;
  if (first === DOT && (lastByte === LF || lastByte === false)) dots.push(0);
  if (chunk[len - 1] === CR) return null;
  let from = 0;
  let lf = chunk.indexOf(LF);
  for (;;) {
    // The only CR a line may hold is the one right before its LF.
    const cr = chunk.indexOf(CR, from);
    if (lf === -1) return cr === -1 ? dots : null;
    if (cr !== -1 && cr < lf && cr !== lf - 1) return null;
    if (lf > 0 && chunk[lf - 1] !== CR) return null;
    if (lf + 1 < len && chunk[lf + 1] === DOT) dots.push(lf + 1);
    from = lf + 1;
    lf = chunk.indexOf(LF, from);
  }
}

/** Whether nodemailer's data stream would pass `chunk` on unchanged. */
export function passesThrough(chunk: Buffer, lastByte: number | false): boolean {
  return dotsAt(chunk, lastByte)?.length === 0;
}

const DOT_BYTE = Buffer.from(".");

/** What nodemailer's data stream makes of `chunk` when only dots are to be stuffed; null when it has a line end to fix. */
export function dotStuffed(chunk: Buffer, lastByte: number | false): Buffer | null {
  const dots = dotsAt(chunk, lastByte);
  if (!dots) return null;
  if (dots.length === 0) return chunk;
  const pieces: Buffer[] = [];
  let at = 0;
  for (const d of dots) {
    if (d > at) pieces.push(chunk.subarray(at, d));
    pieces.push(DOT_BYTE);
    at = d;
  }
  pieces.push(chunk.subarray(at));
  return Buffer.concat(pieces, chunk.length + dots.length);
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
/** Line ends all CRLF, dots to stuff at a chunk's start, after a split CRLF and mid-chunk: what a digest is. */
const CRLF_SAMPLE = [".css {}\r\n.more\r", "\n..two\r\n", ".after\r\nplain\r\n", "x\r\n.", "y\r\n"];

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
      const samples = [SAMPLE, CRLF_SAMPLE, ["plain\r\nlines\r\n", "only\r\n"]];
      const expected = await Promise.all(samples.map((chunks) => run(ctor, chunks)));
      const fast: Transform = function (chunk, encoding, done) {
        const out = Buffer.isBuffer(chunk) && chunk.length > 0 ? dotStuffed(chunk, this.lastByte) : null;
        if (!out) {
          original.call(this, chunk, encoding, done);
          return;
        }
        this.inByteCount += (chunk as Buffer).length;
        this.outByteCount += out.length;
        this.push(out);
        this.lastByte = (chunk as Buffer)[(chunk as Buffer).length - 1] ?? false;
        done();
      };
      ctor.prototype._transform = fast;
      const got = await Promise.all(samples.map((chunks) => run(ctor, chunks)));
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
