import type { DigestPaper } from "./digest-input.js";
import { excerpt, squeeze } from "./text.js";

/** The sentences a digest says: subject, summary, listing days, date, each paper's byline and reason, the footer's why. */

const MAX_AUTHORS = 5;
const SUMMARY_TOPICS = 3;
const AUTHOR_LINE_CHARS = 200;
/** A paper's "because you follow" names this many of its matched topics, then "and N more". */
const PAPER_TOPICS = 5;

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

/** String#localeCompare's order, without building a collator per comparison. */
const collator = new Intl.Collator();

/**
 * A topic as a person reads it, without the search syntax: `"test-time compute"` →
 * test-time compute, `mamba or ssm` → mamba/ssm, `reasoning -survey` → reasoning.
 */
function readableTopic(topic: string): string {
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

export const dateFormat = () => new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** The period's date as a reader expects it, e.g. "Saturday, 28 November 2026". */
export function periodLabel(period: string, frequency: "daily" | "weekly", format: Intl.DateTimeFormat = dateFormat()): string {
  const label = format.format(new Date(`${period}T12:00:00Z`));
  return frequency === "weekly" ? `week of ${label}` : label;
}

/** "trending: 212 upvotes", or "because you follow: a, b". */
export function reasonLine(p: Pick<DigestPaper, "matchedTopics" | "trending">): string {
  if (p.matchedTopics.length > 0) return `because you follow: ${topicsLine(p.matchedTopics)}`;
  if (p.trending !== undefined && p.trending !== null) return `trending: ${p.trending} ${p.trending === 1 ? "upvote" : "upvotes"}`;
  return "";
}

/** The footer's "why you get this" (a test digest says it belongs to no subscription). */
export const whyLine = (email: string, cadence: string) =>
  `You get this ${cadence} email because ${email} subscribed to paperboy and confirmed the subscription. Each paper says why it is here: a topic you follow, or its upvotes among the day's trending papers.`;
export const testWhyLine = (email: string) =>
  `This is a test digest, sent to ${email} from paperboy's admin page to show what the topics would bring. It belongs to no subscription: nothing more will be sent.`;
