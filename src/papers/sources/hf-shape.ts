import { z } from "zod";
import {
  arxivLinks,
  cleanText,
  describeIssues,
  normalizeArxivId,
  safeLink,
  type InvalidEntry,
  type Paper,
  type SourceKind,
} from "../paper.js";

/**
 * One entry of the Hugging Face Daily Papers API (`/api/daily_papers`); the file
 * source reads the same shape. Only the fields paperboy uses are declared; the
 * rest of the entry is ignored.
 */
const hfPaperSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  summary: z.string(),
  authors: z.array(z.object({ name: z.string() })).default([]),
  upvotes: z.number().int().min(0).default(0),
  publishedAt: z.string().nullish(),
  submittedOnDailyAt: z.string().nullish(),
  githubRepo: z.string().nullish(),
  projectPage: z.string().nullish(),
  ai_summary: z.string().nullish(),
  ai_keywords: z.array(z.string()).nullish(),
});

export const hfEntrySchema = z.object({ paper: hfPaperSchema });

export const HF_PAPER_PAGE = "https://huggingface.co/papers/";

/** The id an invalid entry carries, if any, so the log can name it. */
export function looseId(entry: unknown): string | null {
  const paper = (entry as { paper?: { id?: unknown } } | null)?.paper;
  return typeof paper?.id === "string" ? paper.id : null;
}

function instant(value: string | null | undefined): Date | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

export type Mapped = { paper: Paper } | { invalid: InvalidEntry };

/** Validates one raw entry and maps it to a Paper of the given listing day. */
export function mapHfEntry(raw: unknown, listingDay: string, source: SourceKind): Mapped {
  const parsed = hfEntrySchema.safeParse(raw);
  if (!parsed.success) return { invalid: { id: looseId(raw), reason: describeIssues(parsed.error) } };
  const p = parsed.data.paper;
  const arxivId = normalizeArxivId(p.id);
  if (!arxivId) return { invalid: { id: p.id, reason: "paper.id: not an arXiv id" } };
  const title = cleanText(p.title);
  const abstract = cleanText(p.summary);
  if (!title || !abstract) return { invalid: { id: p.id, reason: title ? "paper.summary: empty" : "paper.title: empty" } };
  const keywords = (p.ai_keywords ?? []).map((k) => cleanText(k)).filter((k) => k.length > 0);
  return {
    paper: {
      arxivId,
      title,
      abstract,
      authors: p.authors.map((a) => cleanText(a.name)).filter((n) => n.length > 0),
      publishedAt: instant(p.publishedAt),
      listingDay,
      upvotes: p.upvotes,
      ...arxivLinks(arxivId),
      hfUrl: `${HF_PAPER_PAGE}${arxivId}`,
      githubRepo: safeLink(p.githubRepo),
      projectPage: safeLink(p.projectPage),
      aiSummary: p.ai_summary ? cleanText(p.ai_summary) || null : null,
      aiKeywords: p.ai_keywords ? [...new Set(keywords)] : null,
      categories: null,
      source,
    },
  };
}
