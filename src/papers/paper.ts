import { z } from "zod";
import { DAY } from "../days.js";
import { isCalendarDay, stripControls, textProblem } from "../input.js";

/**
 * The one shape every source turns its entries into. Fields a source does not know
 * are null, so merging two sources can tell "absent" from "empty".
 */

/** Which kind of source a paper came from; stored in papers.sources. */
export type SourceKind = "huggingface" | "arxiv" | "file";

const NEW_STYLE_ID = /^\d{4}\.\d{4,5}$/;
/** Pre-2007 identifiers such as hep-th/9901001 or math.AG/0601001. */
const OLD_STYLE_ID = /^[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?\/\d{7}$/;

/**
 * An arXiv id without its version, or null when the text is not one. Accepts the
 * abs/pdf URL forms arXiv uses in its own feeds.
 */
export function normalizeArxivId(raw: string): string | null {
  const id = raw
    .trim()
    .replace(/^(?:https?:\/\/)?(?:export\.)?arxiv\.org\/(?:abs|pdf)\//i, "")
    .replace(/^arxiv:/i, "")
    .replace(/\.pdf$/i, "")
    .replace(/v\d+$/, "");
  return NEW_STYLE_ID.test(id) || OLD_STYLE_ID.test(id) ? id : null;
}

export const isArxivId = (id: string): boolean => NEW_STYLE_ID.test(id) || OLD_STYLE_ID.test(id);

/**
 * arXiv wraps long titles and abstracts over several lines; a line break inside
 * them is layout, not content. Everything else (LaTeX, Unicode, < and &) is kept
 * exactly: escaping is the renderer's job.
 */
export function cleanText(text: string): string {
  return text.replace(/\s*[\r\n]\s*/g, " ").trim();
}

/** A link we are willing to put in an email: http(s) only, else null. */
export function safeLink(value: string | null | undefined): string | null {
  const v = value?.trim();
  if (!v) return null;
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:" ? u.toString() : null;
  } catch {
    return null;
  }
}

export function arxivLinks(arxivId: string): { arxivUrl: string; pdfUrl: string } {
  return { arxivUrl: `https://arxiv.org/abs/${arxivId}`, pdfUrl: `https://arxiv.org/pdf/${arxivId}` };
}

/**
 * Upstream prose (titles, abstracts, names): a stray NUL or other control character is
 * removed rather than failing the paper (Postgres refuses NUL in text, and one such
 * abstract used to fail the whole day's upsert); what remains must still say something.
 */
const prose = (what: string, max: number) =>
  z.string().transform((v) => stripControls(v).trim()).pipe(z.string().min(1, `${what} is empty`).max(max, `${what} is longer than ${max} characters`));
const word = (max: number) => z.string().transform((v) => stripControls(v).trim()).pipe(z.string().max(max));
/** A link is refused, not repaired: a control character in a URL is not a typo to clean up. */
const link = z.url().refine((v) => textProblem(v) === undefined, "contains a control character");

export const paperSchema = z.object({
  arxivId: z.string().refine(isArxivId, "not an arXiv id without version"),
  // Caps far above real papers keep one entry from overflowing the search tsvector (1 MB) for the whole batch.
  title: prose("title", 2_000),
  abstract: prose("abstract", 100_000),
  authors: z.array(prose("author", 500)).max(5_000),
  publishedAt: z
    .date()
    .refine((d) => d.getUTCFullYear() >= 1900 && d.getUTCFullYear() <= 2999, "not a plausible publication time")
    .nullable(),
  listingDay: z.string().regex(DAY).refine(isCalendarDay, "not a calendar day"),
  /** Null when the source has no votes (arXiv). */
  upvotes: z.number().int().min(0).max(2_147_483_647).nullable(),
  arxivUrl: link,
  pdfUrl: link,
  hfUrl: link.nullable(),
  githubRepo: link.nullable(),
  projectPage: link.nullable(),
  aiSummary: word(20_000).nullable(),
  /** Null when the source has no AI keywords (arXiv). */
  aiKeywords: z.array(word(200)).max(500).nullable(),
  /** Null when the source has no categories (Hugging Face). */
  categories: z.array(word(100)).max(200).nullable(),
  source: z.enum(["huggingface", "arxiv", "file"]),
});

export type Paper = z.infer<typeof paperSchema>;

/** An entry a source could not turn into a paper; logged by id and counted as skipped. */
export interface InvalidEntry {
  id: string | null;
  reason: string;
}

export interface SourceBatch {
  /** Entries the upstream returned, valid or not. */
  fetched: number;
  papers: Paper[];
  invalid: InvalidEntry[];
}

/** What ingest asks of a source. Each source fetches one listing day at a time. */
export interface PaperSource {
  /** As configured: huggingface, arxiv or file:PATH. Recorded in ingest_runs. */
  readonly name: string;
  readonly kind: SourceKind;
  fetchDay(day: string): Promise<SourceBatch>;
  /** The days a source holds when it is finite (a file); undefined for live services. */
  days?(): Promise<string[]>;
}

/** The upstream answered something other than the document we expect, or not at all. */
export class SourceError extends Error {
  override name = "SourceError";
  /** No answer at all (DNS, refused, timed out) after every attempt: likely no network, not a bad upstream. */
  readonly unreachable: boolean;
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown; unreachable?: boolean },
  ) {
    super(`${source}: ${message}`, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/** A compact reason from a zod error, naming the first fields that were wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(entry)"}: ${i.message}`)
    .join("; ");
}
