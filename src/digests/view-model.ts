import { links, type LinkContext, type LinkSubject } from "../subscribers/links.js";
import type { DigestInput, DigestPaper } from "./digest-input.js";
import { excerpt, highlight, highlighter, webUrl, type Segment } from "./text.js";
import { authorLine, dateFormat, listingLine, morePapersLabel, periodLabel, reasonLine, subjectLine, summaryLine, testWhyLine, topicsLine, whyLine } from "./wording.js";

/**
 * The digest email's view model: from a digest's data to what the email shows. Pure;
 * every value is plain text that the template escapes (see text.ts for highlights).
 * The batch fill (render.ts) builds the same view paper by paper.
 */

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

/** Longer titles and author lines (a source's junk, an author list of a collaboration) are cut with an ellipsis. */
const TITLE_CHARS = 300;

function githubUrl(repo: string | null): string | null {
  if (!repo) return null;
  if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo.trim())) return `https://github.com/${repo.trim()}`;
  return webUrl(repo);
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

export const CACHE_LIMIT = 5000;

function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  const hit = map.get(key);
  if (hit !== undefined || map.has(key)) return hit as V;
  if (map.size >= CACHE_LIMIT) map.clear();
  const v = make();
  map.set(key, v);
  return v;
}

/** What a paper shows whoever gets it: everything but the highlights and matched topics. */
export function paperBase(p: DigestPaper, cache: ViewCache): PaperView {
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

/** The base with this digest's matched words highlighted and its matched topics. */
export function personalView(base: PaperView, p: DigestPaper, cache: ViewCache): PaperView {
  const re = cached(cache.patterns, p.matchedWords.join("\u0000"), () => highlighter(p.matchedWords));
  const topics = topicsLine(p.matchedTopics);
  return { ...base, rank: p.rank, title: highlight(base.titleText, re), summary: highlight(base.summaryText, re), topics, reason: reasonLine(p) };
}

function paperView(p: DigestPaper, cache: ViewCache = createViewCache()): PaperView {
  return personalView(paperBase(p, cache), p, cache);
}

/** The paper's view with the recipient's feedback links (none for a paper without an id, e.g. a preview). */
export function withFeedback(v: PaperView, ctx: LinkContext, who: LinkSubject, paperId: number | undefined): PaperView {
  if (paperId === undefined) return v;
  return { ...v, moreUrl: links.feedback(ctx, who, paperId, 1), lessUrl: links.feedback(ctx, who, paperId, -1) };
}

export const siteUrl = (ctx: LinkContext) => `${ctx.publicUrl.replace(/\/$/, "")}/`;

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
