import { compileListEmail, type CompiledListEmail, type ListFilled } from "../mail/templates.js";
import { feedbackToken, feedUrl, links, linkTemplates, tokenFor, type LinkContext, type LinkSubject } from "../subscribers/links.js";

/**
 * The digest email's view model and its render. The MJML template is compiled once
 * (compileEmail); a digest is a Handlebars fill of that, so every value below is
 * plain text that the template escapes. Highlighting never builds HTML here: text
 * is split into segments {text, hit} and the template wraps the hits after
 * escaping each one.
 */

/** One paper of a digest as the send pipeline and the view page read it. */
export interface DigestPaper {
  /** The paper's id: lets a batch render fill this paper once for all its digests. */
  id?: number;
  rank: number;
  title: string;
  abstract: string;
  authors: string[];
  upvotes: number;
  arxivUrl: string;
  pdfUrl: string;
  hfUrl: string | null;
  githubRepo: string | null;
  projectPage: string | null;
  aiSummary: string | null;
  matchedTopics: string[];
  matchedWords: string[];
  /** The listing day the paper is from (YYYY-MM-DD), shown in the digest's header. */
  listingDay?: string;
  /** Set when the paper is in the digest because it is trending: its upvotes when the digest was planned. */
  trending?: number | null | undefined;
}

export interface DigestRecipient {
  subscriberId: number;
  tokenVersion: number;
  /** The subscriber's feed_version: with it the footer links their own Atom feed. */
  feedVersion?: number | undefined;
  email: string;
  frequency: "daily" | "weekly";
  timezone: string;
}

export interface DigestInput {
  digestId: number;
  /** The local date that starts the digest's period, YYYY-MM-DD. */
  period: string;
  recipient: DigestRecipient;
  papers: DigestPaper[];
  /**
   * An operator's test digest (admin page): it belongs to no subscription, so it says
   * so and links to the signup page instead of manage/unsubscribe/view links, which
   * would carry tokens for nobody.
   */
  test?: boolean;
}

export interface Segment {
  text: string;
  hit: boolean;
}

export interface PaperView {
  rank: number;
  title: Segment[];
  titleText: string;
  url: string;
  authors: string;
  /** Authors and upvotes both shown: a separator between them (none when either is missing). */
  bylineDot: boolean;
  upvotes: number;
  summary: Segment[];
  summaryText: string;
  topics: string;
  /** Why the paper is in this digest: "because you follow: …" or "trending: 212 upvotes". */
  reason: string;
  arxivUrl: string;
  pdfUrl: string;
  codeUrl: string | null;
  projectUrl: string | null;
  /** The paper's "More like this" / "Less like this" links (signed per subscriber, paper and vote); "" without a paper id. */
  moreUrl: string;
  lessUrl: string;
}

export interface DigestView {
  subject: string;
  summary: string;
  date: string;
  /** Which listing day(s) the papers are from, e.g. "Papers listed on Fri 27 Nov". */
  listing: string;
  /** The papers the email shows: all of them, or the first ones that fit HTML_BUDGET. */
  papers: PaperView[];
  /** "12 more papers in your browser" when the rest moved to the view-in-browser page; "" when none did. */
  morePapers: string;
  links: { manage: string; unsubscribe: string; view: string; archive: string; feed: string | null; subscribe: string };
  why: string;
  test: boolean;
  postalAddress: string;
}

export interface RenderContext extends LinkContext {
  postalAddress: string;
}

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  /** The RFC 8058 one-click target for the List-Unsubscribe header. */
  oneClickUrl: string;
}

const MAX_AUTHORS = 5;
const SUMMARY_CHARS = 300;
const SUMMARY_TOPICS = 3;
/** Longer titles and author lines (a source's junk, an author list of a collaboration) are cut with an ellipsis. */
const TITLE_CHARS = 300;
const AUTHOR_LINE_CHARS = 200;
/** A paper's "because you follow" names this many of its matched topics, then "and N more". */
const PAPER_TOPICS = 5;

/**
 * The most HTML bytes a digest email may have. Gmail clips a message at about 102 KB,
 * hiding what comes after (the footer: unsubscribe, manage, postal address); papers
 * that would pass this move to the view-in-browser page, behind an "N more papers" link.
 */
export const HTML_BUDGET = 100_000;

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

function githubUrl(repo: string | null): string | null {
  if (!repo) return null;
  if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo.trim())) return `https://github.com/${repo.trim()}`;
  return webUrl(repo);
}

export function authorLine(authors: string[]): string {
  const names = authors.map((a) => a.trim()).filter((a) => a.length > 0);
  const line = names.length <= MAX_AUTHORS ? names.join(", ") : `${names.slice(0, MAX_AUTHORS).join(", ")} et al.`;
  return line.length <= AUTHOR_LINE_CHARS ? line : excerpt(line, AUTHOR_LINE_CHARS);
}

/** The paper's matched topics for its "because you follow" line. */
export function topicsLine(topics: string[]): string {
  if (topics.length <= PAPER_TOPICS) return topics.join(", ");
  return `${topics.slice(0, PAPER_TOPICS).join(", ")} and ${topics.length - PAPER_TOPICS} more`;
}

/** The link text for the papers that did not fit the email. */
export const morePapersLabel = (n: number) => (n > 0 ? `${n} more ${n === 1 ? "paper" : "papers"} in your browser` : "");

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

/** String#localeCompare's order, without building a collator per comparison. */
const collator = new Intl.Collator();

/**
 * A topic as a person reads it, without the search syntax: `"test-time compute"` →
 * test-time compute, `mamba or ssm` → mamba/ssm, `reasoning -survey` → reasoning.
 */
export function readableTopic(topic: string): string {
  const out: string[] = [];
  let joinNext = false;
  for (const w of topic.replace(/["\u201c\u201d]/g, " ").split(/\s+/)) {
    if (!w || /^-./.test(w)) continue;
    if (/^or$/i.test(w)) {
      joinNext = out.length > 0;
      continue;
    }
    if (joinNext) out[out.length - 1] += `/${w}`;
    else out.push(w);
    joinNext = false;
  }
  return out.length > 0 ? out.join(" ") : topic.trim();
}

/** The digest's topics as a person reads them, the most matched first, and how many papers are there as trending. */
function rankedTopics(papers: Pick<DigestPaper, "matchedTopics" | "trending">[]): { topics: string[]; trending: number } {
  const counts = new Map<string, number>();
  let trending = 0;
  for (const p of papers) {
    for (const t of p.matchedTopics) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (p.matchedTopics.length === 0 && p.trending !== undefined && p.trending !== null) trending++;
  }
  const ranked = counts.size === 1 ? [...counts.keys()] : [...counts.entries()].sort((a, b) => b[1] - a[1] || collator.compare(a[0], b[0])).map(([t]) => t);
  return { topics: [...new Set(ranked.map(readableTopic))], trending };
}

/** "12 new papers on diffusion, test-time compute" — the most matched topics first. */
export function summaryLine(papers: Pick<DigestPaper, "matchedTopics" | "trending">[]): string {
  const { topics: ranked, trending } = rankedTopics(papers);
  const n = papers.length;
  const plural = (k: number) => (k === 1 ? "paper" : "papers");
  if (ranked.length === 0 && trending > 0 && trending === n) return `${n} trending ${plural(n)}`;
  const matched = n - trending;
  const head = `${matched} new ${plural(matched)}`;
  const plus = trending > 0 ? ` + ${trending} trending` : "";
  if (ranked.length === 0) return `${n} new ${plural(n)}`;
  const shown = ranked.slice(0, SUMMARY_TOPICS).join(", ");
  const more = ranked.length - SUMMARY_TOPICS;
  return `${head} on ${shown}${more > 0 ? ` and ${more} more ${more === 1 ? "topic" : "topics"}` : ""}${plus}`;
}

const SUBJECT_TITLE_CHARS = 70;

/**
 * The subject leads with the best paper, as a person would tell it:
 * "Sleep-time Compute, and 5 more on reasoning, diffusion".
 */
export function subjectLine(papers: Pick<DigestPaper, "rank" | "title" | "matchedTopics" | "trending">[]): string {
  const top = papers.reduce<(typeof papers)[number] | undefined>((best, p) => (!best || p.rank < best.rank ? p : best), undefined);
  if (!top) return summaryLine(papers);
  const whole = squeeze(top.title).trim();
  const cut = whole.slice(0, SUBJECT_TITLE_CHARS + 1);
  const title = whole.length <= SUBJECT_TITLE_CHARS ? whole : `${cut.slice(0, Math.max(cut.lastIndexOf(" "), SUBJECT_TITLE_CHARS / 2)).replace(/[\s,;:.\-–—]+$/, "")}...`;
  const topics = rankedTopics(papers).topics.slice(0, SUMMARY_TOPICS).join(", ");
  const more = papers.length - 1;
  if (more === 0) return topics ? `${title}, new on ${topics}` : title;
  return topics ? `${title}, and ${more} more on ${topics}` : `${title}, and ${more} more trending ${more === 1 ? "paper" : "papers"}`;
}

const dayFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

/** "Papers listed on Fri 27 Nov", or "Papers listed Wed 25 Nov to Fri 27 Nov"; empty when unknown. */
export function listingLine(papers: Pick<DigestPaper, "listingDay">[]): string {
  let first: string | undefined;
  let last: string | undefined;
  for (const p of papers) {
    const d = p.listingDay;
    if (!d) continue;
    if (first === undefined || d < first) first = d;
    if (last === undefined || d > last) last = d;
  }
  if (!first || !last) return "";
  const day = (d: string) => dayFormat.format(new Date(`${d}T12:00:00Z`));
  return first === last ? `Papers listed on ${day(first)}` : `Papers listed ${day(first)} to ${day(last)}`;
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

const dateFormat = () => new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** The period's date as a reader expects it, e.g. "Saturday, 28 November 2026". */
export function periodLabel(period: string, frequency: "daily" | "weekly", format: Intl.DateTimeFormat = dateFormat()): string {
  const label = format.format(new Date(`${period}T12:00:00Z`));
  return frequency === "weekly" ? `week of ${label}` : label;
}

/**
 * What stays the same across the digests of a process (date formatter, highlight
 * patterns, cleaned URLs), kept per renderer so a fill does no repeated parsing.
 */
export interface ViewCache {
  format: Intl.DateTimeFormat;
  patterns: Map<string, RegExp | null>;
  urls: Map<string, string | null>;
}

export const createViewCache = (): ViewCache => ({ format: dateFormat(), patterns: new Map(), urls: new Map() });

const CACHE_LIMIT = 5000;

function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  const hit = map.get(key);
  if (hit !== undefined || map.has(key)) return hit as V;
  if (map.size >= CACHE_LIMIT) map.clear();
  const v = make();
  map.set(key, v);
  return v;
}

/** What a paper shows whoever gets it: everything but the highlights and matched topics. */
function paperBase(p: DigestPaper, cache: ViewCache): PaperView {
  const url = (u: string | null) => (u ? cached(cache.urls, u, () => webUrl(u)) : null);
  const summarySource = p.aiSummary?.trim() ? p.aiSummary.trim() : p.abstract;
  const summaryText = excerpt(summarySource);
  const arxivUrl = url(p.arxivUrl) ?? "https://arxiv.org/";
  const title = excerpt(p.title, TITLE_CHARS);
  const authors = authorLine(p.authors);
  return {
    rank: p.rank,
    title: [],
    titleText: title,
    url: url(p.hfUrl) ?? arxivUrl,
    authors,
    bylineDot: authors.length > 0 && p.upvotes > 0,
    upvotes: p.upvotes,
    summary: [],
    summaryText,
    topics: "",
    reason: "",
    arxivUrl,
    pdfUrl: url(p.pdfUrl) ?? arxivUrl,
    codeUrl: p.githubRepo ? cached(cache.urls, `gh:${p.githubRepo}`, () => githubUrl(p.githubRepo)) : null,
    projectUrl: url(p.projectPage),
    moreUrl: "",
    lessUrl: "",
  };
}

/** "trending: 212 upvotes", or "because you follow: a, b". */
export function reasonLine(p: Pick<DigestPaper, "matchedTopics" | "trending">): string {
  if (p.matchedTopics.length > 0) return `because you follow: ${topicsLine(p.matchedTopics)}`;
  if (p.trending !== undefined && p.trending !== null) return `trending: ${p.trending} ${p.trending === 1 ? "upvote" : "upvotes"}`;
  return "";
}

/** The base with this digest's matched words highlighted and its matched topics. */
function personalView(base: PaperView, p: DigestPaper, cache: ViewCache): PaperView {
  const re = cached(cache.patterns, p.matchedWords.join("\u0000"), () => highlighter(p.matchedWords));
  const topics = topicsLine(p.matchedTopics);
  return { ...base, rank: p.rank, title: highlight(base.titleText, re), summary: highlight(base.summaryText, re), topics, reason: reasonLine(p) };
}

export function paperView(p: DigestPaper, cache: ViewCache = createViewCache()): PaperView {
  return personalView(paperBase(p, cache), p, cache);
}

/** The paper's view with the recipient's feedback links (none for a paper without an id, e.g. a preview). */
export function withFeedback(v: PaperView, ctx: LinkContext, who: LinkSubject, paperId: number | undefined): PaperView {
  if (paperId === undefined) return v;
  return { ...v, moreUrl: links.feedback(ctx, who, paperId, 1), lessUrl: links.feedback(ctx, who, paperId, -1) };
}

const whyLine = (email: string, cadence: string) =>
  `You get this ${cadence} email because ${email} subscribed to paperboy and confirmed the subscription. Each paper says why it is here: a topic you follow, or its upvotes among the day's trending papers.`;
const testWhyLine = (email: string) =>
  `This is a test digest, sent to ${email} from paperboy's admin page to show what the topics would bring. It belongs to no subscription: nothing more will be sent.`;
const siteUrl = (ctx: LinkContext) => `${ctx.publicUrl.replace(/\/$/, "")}/`;

/** The view model; `shown` limits the papers listed (the rest are counted in morePapers). */
export function digestView(ctx: RenderContext, d: DigestInput, cache: ViewCache = createViewCache(), shown = Infinity): DigestView {
  const papers = [...d.papers].sort((a, b) => a.rank - b.rank);
  const summary = summaryLine(papers);
  const listed = shown < papers.length ? papers.slice(0, shown) : papers;
  const who = { id: d.recipient.subscriberId, tokenVersion: d.recipient.tokenVersion };
  const cadence = d.recipient.frequency === "weekly" ? "weekly" : "daily";
  return {
    subject: subjectLine(papers),
    summary,
    date: periodLabel(d.period, d.recipient.frequency, cache.format),
    listing: listingLine(papers),
    papers: listed.map((p) => withFeedback(paperView(p, cache), ctx, who, p.id)),
    morePapers: morePapersLabel(papers.length - listed.length),
    links: {
      manage: links.manage(ctx, who),
      unsubscribe: links.unsubscribe(ctx, who),
      view: links.viewDigest(ctx, who, d.digestId),
      archive: links.archive(ctx, who),
      feed: d.recipient.feedVersion === undefined ? null : links.feed(ctx, { id: who.id, feedVersion: d.recipient.feedVersion }),
      subscribe: siteUrl(ctx),
    },
    why: d.test ? testWhyLine(d.recipient.email) : whyLine(d.recipient.email, cadence),
    test: d.test === true,
    postalAddress: ctx.postalAddress,
  };
}

export interface DigestRenderer {
  /** One digest email, filled from scratch, within the HTML budget. */
  render(d: DigestInput): RenderedDigest;
  /** The whole digest for the view-in-browser page: every paper, no budget (a page is not clipped). */
  page(d: DigestInput): RenderedDigest;
  /**
   * A render for the digests of one batch, whose papers were loaded together: each
   * paper (with the same matched words and topics) is filled once and its fragment
   * reused by every digest of the batch that has it. Only the personal parts (date,
   * summary, footer links with tokens) are filled per digest. Drop it with the batch:
   * a paper may change between batches.
   */
  batch(): (d: DigestInput) => RenderedDigest;
  /** The view model of the email render() gives (the plain path's input: tests hold the fill byte-equal to it). */
  view(d: DigestInput): DigestView;
  /** What fills the template: the direct fill (a fast path) or Handlebars. */
  readonly engine: "fill" | "handlebars";
}

export interface RendererOptions {
  /** Most HTML bytes per email (default HTML_BUDGET); papers past it move to the browser page. */
  htmlBudget?: number;
  /** MAIL_FAST_PATHS: false fills with Handlebars only (the reference path). */
  fastPaths?: boolean;
  /** An already compiled template (tests). */
  compiled?: DigestEmail;
}

type DigestEmail = CompiledListEmail<DigestView, "papers">;

/**
 * A paper's filled HTML and text, split where the per-digest values go: the rank and
 * the tokens of its two feedback links. Even indexes are text, odd ones name the slot.
 */
interface Fragment {
  html: string[];
  text: string[];
}

/** A paper filled for one set of matched words and topics. */
interface PaperFill {
  words: string[];
  topics: string[];
  trending: number | null;
  fragment: Fragment;
}

/** Per batch: fills by paper (a few matched word/topic sets each), and each paper's base view. */
interface Fragments {
  fills: Map<number, PaperFill[]>;
  bases: Map<number, PaperView>;
}

const byRank = (papers: DigestPaper[]) => {
  for (let i = 1; i < papers.length; i++) if (papers[i - 1]!.rank > papers[i]!.rank) return [...papers].sort((a, b) => a.rank - b.rank);
  return papers;
};

/** Stand in for the rank and the feedback tokens while a paper is filled; no paper text holds a NUL. */
const RANK_SLOT = "\u0000rank\u0000";
const MORE_SLOT = "\u0000more\u0000";
const LESS_SLOT = "\u0000less\u0000";
const SLOTS = new RegExp(`${"\u0000"}(rank|more|less)${"\u0000"}`);

const sameList = (a: string[], b: string[]) => a === b || (a.length === b.length && a.every((x, i) => x === b[i]));

function filledFor(fills: PaperFill[], p: DigestPaper): Fragment | undefined {
  for (const e of fills) if (sameList(e.words, p.matchedWords) && sameList(e.topics, p.matchedTopics) && e.trending === (p.trending ?? null)) return e.fragment;
  return undefined;
}

/**
 * A fragment with its rank and feedback tokens filled in. `+` keeps the fragment's text
 * shared (V8 links the pieces); join() would copy the 2–3 KB of every paper of every
 * digest once more.
 */
function slot(parts: string[], rank: string, more: string, less: string): string {
  let out = parts[0] ?? "";
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i];
    out += (name === "rank" ? rank : name === "more" ? more : less) + (parts[i + 1] ?? "");
  }
  return out;
}


/** Compiles the digest template once; every render after that is a fill. */
export async function createDigestRenderer(ctx: RenderContext, opts: RendererOptions = {}): Promise<DigestRenderer> {
  const email = opts.compiled ?? (await compileListEmail<DigestView, "papers">("digest", "papers", { fill: opts.fastPaths ?? true }));
  const cache = createViewCache();
  const htmlBudget = opts.htmlBudget ?? HTML_BUDGET;
  const { manageAt, unsubscribeAt, oneClickAt, viewAt, feedbackAt } = linkTemplates(ctx);
  const labels = new Map<string, string>();
  const subscribe = siteUrl(ctx);
  const cadence = { daily: "daily", weekly: "weekly" } as const;

  /**
   * The paper's fragment: slots for the per-digest values, shareable among digests; or,
   * when the fragment cannot have slots, the paper filled for this digest alone (null
   * `shared`): a NUL in the data would cut it in the wrong place.
   */
  function paperFragment(v: PaperView, p: DigestPaper, who: LinkSubject): { fragment: Fragment; shared: boolean } {
    const nul = v.titleText.includes("\u0000") || v.summaryText.includes("\u0000") || v.authors.includes("\u0000") || v.reason.includes("\u0000");
    if (nul || (p.id !== undefined && feedbackAt === null)) {
      const own = withFeedback(v, ctx, who, p.id);
      return { fragment: { html: [email.itemHtml(own)], text: [email.itemText(own)] }, shared: false };
    }
    const feedback = p.id !== undefined && feedbackAt ? { moreUrl: feedbackAt[0] + MORE_SLOT + feedbackAt[1], lessUrl: feedbackAt[0] + LESS_SLOT + feedbackAt[1] } : {};
    const slotted = { ...v, ...feedback, rank: RANK_SLOT as unknown as number };
    return { fragment: { html: email.itemHtml(slotted).split(SLOTS), text: email.itemText(slotted).split(SLOTS) }, shared: true };
  }

  type Filled = ListFilled<DigestView, "papers">;

  /**
   * The email with as many papers (best first) as fit `budget` bytes of HTML and an
   * "N more papers" link to the browser page for the rest. Rare: only called when
   * the whole digest is over budget, so it may measure every paper.
   */
  function cut(filled: Filled, htmlParts: string[], textParts: string[], budget: number): { html: string; text: string; shown: number } {
    const n = htmlParts.length;
    // The page without papers, with the longest "more" label it can get: what every paper shares.
    let room = budget - Buffer.byteLength(email.html({ ...filled, papers: "", morePapers: morePapersLabel(n) }));
    let k = 0;
    for (; k < n; k++) {
      const size = Buffer.byteLength(htmlParts[k]!);
      if (size > room) break;
      room -= size;
    }
    for (; ; k--) {
      const withK = { ...filled, morePapers: morePapersLabel(n - k) };
      const html = email.html({ ...withK, papers: htmlParts.slice(0, k).join("") });
      // With no paper left the rest (footer, links) is all there is: it goes out as it is.
      if (k === 0 || Buffer.byteLength(html) <= budget) return { html, text: email.text({ ...withK, papers: textParts.slice(0, k).join("") }), shown: k };
    }
  }

  function fill(d: DigestInput, fragments: Fragments | null, budget: number): RenderedDigest & { shown: number } {
    const papers = byRank(d.papers);
    const summary = summaryLine(papers);
    let html = "";
    let text = "";
    // Each paper's filled part, kept in case the whole is over budget (references: no copying).
    const htmlParts: string[] = [];
    const textParts: string[] = [];
    const who = { id: d.recipient.subscriberId, tokenVersion: d.recipient.tokenVersion };
    for (const p of papers) {
      // Looked up by paper id, then by comparing the (short) lists: no key string to build
      // and hash per paper of every digest. A batch's rows share their lists, so mostly `===`.
      const same = fragments && p.id !== undefined ? fragments.fills.get(p.id) : undefined;
      let f = same ? filledFor(same, p) : undefined;
      if (f === undefined) {
        let base = fragments && p.id !== undefined ? fragments.bases.get(p.id) : undefined;
        if (base === undefined) {
          base = paperBase(p, cache);
          if (fragments && p.id !== undefined) fragments.bases.set(p.id, base);
        }
        const made = paperFragment(personalView(base, p, cache), p, who);
        f = made.fragment;
        if (fragments && p.id !== undefined && made.shared) {
          const entry = { words: p.matchedWords, topics: p.matchedTopics, trending: p.trending ?? null, fragment: f };
          if (same) same.push(entry);
          else fragments.fills.set(p.id, [entry]);
        }
      }
      const rank = String(p.rank);
      const more = p.id === undefined || f.html.length === 1 ? "" : feedbackToken(ctx, who, p.id, 1);
      const less = p.id === undefined || f.html.length === 1 ? "" : feedbackToken(ctx, who, p.id, -1);
      const h = slot(f.html, rank, more, less);
      const t = slot(f.text, rank, more, less);
      html += h;
      text += t;
      htmlParts.push(h);
      textParts.push(t);
    }
    const unsubscribeToken = tokenFor(ctx, who, "unsubscribe");
    const manage = manageAt ? manageAt(tokenFor(ctx, who, "manage")) : links.manage(ctx, who);
    const feedVersion = d.recipient.feedVersion;
    const digestLinks = {
      manage,
      archive: `${manage}#archive`,
      feed: feedVersion === undefined ? null : feedUrl(ctx, tokenFor(ctx, { id: who.id, tokenVersion: feedVersion }, "feed")),
      unsubscribe: unsubscribeAt ? unsubscribeAt(unsubscribeToken) : links.unsubscribe(ctx, who),
      view: viewAt && Number.isSafeInteger(d.digestId) && d.digestId > 0 ? viewAt(tokenFor(ctx, who, "view"), `/${d.digestId}`) : links.viewDigest(ctx, who, d.digestId),
      subscribe,
    };
    const labelKey = `${d.period}|${d.recipient.frequency}`;
    let date = labels.get(labelKey);
    if (date === undefined) {
      date = periodLabel(d.period, d.recipient.frequency, cache.format);
      if (labels.size >= CACHE_LIMIT) labels.clear();
      labels.set(labelKey, date);
    }
    const subject = subjectLine(papers);
    const filled: Filled = {
      subject,
      summary,
      date,
      listing: listingLine(papers),
      papers: html,
      morePapers: "",
      links: digestLinks,
      why: d.test ? testWhyLine(d.recipient.email) : whyLine(d.recipient.email, cadence[d.recipient.frequency] ?? "daily"),
      test: d.test === true,
      postalAddress: ctx.postalAddress,
    };
    const oneClickUrl = oneClickAt ? oneClickAt(unsubscribeToken) : links.oneClick(ctx, who);
    const whole = email.html(filled);
    // A UTF-8 byte count is needed only when the text could be over: a UTF-16 unit is at most 3 bytes.
    if (whole.length * 3 > budget && Buffer.byteLength(whole) > budget) {
      const within = cut(filled, htmlParts, textParts, budget);
      return { subject, html: within.html, text: wrapText(within.text), oneClickUrl, shown: within.shown };
    }
    // The text part's lines wrap at 78 characters, as a mail client shows them.
    return { subject, html: whole, text: wrapText(email.text({ ...filled, papers: text })), oneClickUrl, shown: papers.length };
  }

  const rendered = ({ shown: _shown, ...r }: RenderedDigest & { shown: number }): RenderedDigest => r;

  return {
    engine: email.engine,
    // The view of the email as render() cuts it: the same papers, the same "more" link.
    view: (d) => digestView(ctx, d, cache, fill(d, null, htmlBudget).shown),
    render: (d) => rendered(fill(d, null, htmlBudget)),
    page: (d) => rendered(fill(d, null, Infinity)),
    batch() {
      const fragments: Fragments = { fills: new Map(), bases: new Map() };
      return (d) => rendered(fill(d, fragments, htmlBudget));
    },
  };
}
