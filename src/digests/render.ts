import { compileListEmail, type CompiledListEmail, type ListFilled } from "../mail/templates.js";
import { feedbackToken, feedUrl, links, linkTemplates, tokenFor, type LinkSubject } from "../subscribers/links.js";
import type { DigestInput, DigestPaper } from "./digest-input.js";
import { wrapText } from "./text.js";
import { CACHE_LIMIT, createViewCache, digestView, paperBase, personalView, siteUrl, withFeedback, type DigestView, type PaperView, type RenderContext } from "./view-model.js";
import { listingLine, morePapersLabel, periodLabel, subjectLine, summaryLine, testWhyLine, whyLine } from "./wording.js";

/**
 * The batch fill. The MJML template is compiled once per process; a digest is a fill
 * of that, and a batch fills each paper once for all its digests (see view-model.ts
 * for what the fill shows, and the reference path it is held byte-equal to).
 */

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  /** The RFC 8058 one-click target for the List-Unsubscribe header. */
  oneClickUrl: string;
}

/**
 * The most HTML bytes a digest email may have. Gmail clips a message at about 102 KB,
 * hiding what comes after (the footer: unsubscribe, manage, postal address); papers
 * that would pass this move to the view-in-browser page, behind an "N more papers" link.
 */
export const HTML_BUDGET = 100_000;

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
