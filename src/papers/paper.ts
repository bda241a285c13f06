import { z } from "zod";
import { DAY } from "../days.js";

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

export const paperSchema = z.object({
  arxivId: z.string().refine(isArxivId, "not an arXiv id without version"),
  title: z.string().min(1, "title is empty"),
  abstract: z.string().min(1, "abstract is empty"),
  authors: z.array(z.string().min(1)),
  publishedAt: z.date().nullable(),
  listingDay: z.string().regex(DAY),
  /** Null when the source has no votes (arXiv). */
  upvotes: z.number().int().min(0).nullable(),
  arxivUrl: z.url(),
  pdfUrl: z.url(),
  hfUrl: z.url().nullable(),
  githubRepo: z.url().nullable(),
  projectPage: z.url().nullable(),
  aiSummary: z.string().nullable(),
  /** Null when the source has no AI keywords (arXiv). */
  aiKeywords: z.array(z.string()).nullable(),
  /** Null when the source has no categories (Hugging Face). */
  categories: z.array(z.string()).nullable(),
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
