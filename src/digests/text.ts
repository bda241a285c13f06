/**
 * Text as a digest (and the papers pages) show it: whitespace squeezed, excerpts cut at
 * a word, matched words found for highlighting, plain text wrapped, only web links kept.
 * Highlighting never builds HTML: text is split into segments {text, hit} and the
 * template wraps the hits after escaping each one.
 */

export interface Segment {
  text: string;
  hit: boolean;
}

const SUMMARY_CHARS = 300;

/** Only web links reach an href; anything else (javascript:, data:, garbage) is dropped. */
export function webUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const u = new URL(value.trim());
    return u.protocol === "https:" || u.protocol === "http:" ? u.toString() : null;
  } catch {
    return null;
  }
}

/**
 * Whitespace runs as single spaces, as `replace(/\s+/g, " ")` gives, but only the runs
 * that are not already one plain space are matched: prose has a space between every
 * two words, and replacing each of them with itself made this the slowest part of a fill.
 */
export const squeeze = (text: string) => text.replace(/\s{2,}|[^\S ]/g, " ");

/** The first ~max characters, cut at a word boundary, with an ellipsis when cut. */
export function excerpt(text: string, max = SUMMARY_CHARS): string {
  // Only the head matters: cleaning a whole 2,000-character abstract per email is waste.
  const clean = squeeze(text.slice(0, max * 2 + 100)).trim();
  if (clean.length <= max && text.length <= max * 2 + 100) return clean;
  const cut = clean.slice(0, max + 1);
  const lastSpace = cut.lastIndexOf(" ");
  const head = lastSpace > max * 0.6 ? cut.slice(0, lastSpace) : clean.slice(0, max);
  // Three dots, not "…": an all-ASCII digest goes out as 7bit, a third smaller than base64.
  return `${head.replace(/[\s,;:.\-–—]+$/, "")}...`;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The pattern for a set of matched words: a hit starts at a word start and may run
 * on with letters (stemming: "model" marks "models"), case-insensitive.
 */
export function highlighter(words: string[]): RegExp | null {
  const terms = [...new Set(words.map((w) => w.trim().toLowerCase()).filter((w) => w.length >= 2))].sort((a, b) => b.length - a.length);
  if (terms.length === 0) return null;
  // No lookbehind: V8 scans for the literal terms much faster; highlight() checks the word start.
  return new RegExp(`(?:${terms.map(escapeRegExp).join("|")})[\\p{L}\\p{N}]*`, "giu");
}

/** Splits text into plain and matched segments; the template escapes each and wraps the hits. */
export function highlight(text: string, words: string[] | RegExp | null): Segment[] {
  const re = Array.isArray(words) ? highlighter(words) : words;
  if (text.length === 0) return [];
  if (!re) return [{ text, hit: false }];
  const out: Segment[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index;
    if (start > 0 && WORD_CHAR.test(text[start - 1] ?? "")) continue;
    if (start > last) out.push({ text: text.slice(last, start), hit: false });
    out.push({ text: m[0], hit: true });
    last = start + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), hit: false });
  return out;
}

/**
 * Plain text as the confirmation email has it: lines of at most `width` characters,
 * broken at spaces and keeping each line's indent; a word longer than that (a URL)
 * stands on its own line, unbroken.
 */
export function wrapText(text: string, width = 78): string {
  // One scan; only the long lines (few: titles, summaries, long links) are rebuilt.
  let out = "";
  let copied = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (end - start > width) {
      out += text.slice(copied, start) + wrapLine(text.slice(start, end), width);
      copied = end;
    }
    start = end + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * One long line, cut at the last space that fits: slices of the line, no word list
 * built and joined (this ran for every title, summary and link of every email).
 */
function wrapLine(line: string, width: number): string {
  let at = 0;
  while (line.charCodeAt(at) === 32) at++;
  const indent = line.slice(0, at);
  // Runs of spaces, or spaces at the end, are squeezed by the word-by-word wrap: our templates make neither.
  if (line.includes("  ", at) || line.endsWith(" ")) return wrapWords(line, indent, width);
  const room = width - at;
  let out = "";
  for (;;) {
    if (line.length - at <= room) return out + indent + line.slice(at);
    const space = line.lastIndexOf(" ", at + room);
    // No space that fits: the word is longer than the line and stands alone.
    const cut = space > at ? space : line.indexOf(" ", at);
    if (cut < 0) return out + indent + line.slice(at);
    out += `${indent}${line.slice(at, cut)}\n`;
    at = cut + 1;
  }
}

function wrapWords(line: string, indent: string, width: number): string {
  const out: string[] = [];
  let cur = "";
  for (const word of line.slice(indent.length).split(" ")) {
    if (!word) continue;
    if (cur && indent.length + cur.length + 1 + word.length > width) {
      out.push(indent + cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(indent + cur);
  return out.join("\n");
}
