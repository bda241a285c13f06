import { XMLParser, XMLValidator } from "fast-xml-parser";
import { z } from "zod";
import { describeBody, looksLikeHtml, type HttpClient, type HttpResponse } from "../http.js";
import {
  arxivLinks,
  cleanText,
  describeIssues,
  normalizeArxivId,
  SourceError,
  type InvalidEntry,
  type Paper,
  type PaperSource,
  type SourceBatch,
} from "../paper.js";

export interface ArxivSourceOptions {
  /** Must carry the 3-second limiter: arXiv asks for at most one request every 3 seconds. */
  http: HttpClient;
  /** ARXIV_API_URL, e.g. https://export.arxiv.org */
  baseUrl: string;
  /** ARXIV_CATEGORIES, e.g. ["cs.CL", "cs.LG"] */
  categories: string[];
  pageSize?: number;
  maxPages?: number;
}

/** arXiv asks clients to wait this long between requests. */
export const ARXIV_REQUEST_INTERVAL_MS = 3000;

const NAME = "arxiv";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  // opensearch:totalResults → totalResults, arxiv:primary_category → primary_category.
  removeNSPrefix: true,
  // Ids such as 2510.99877 must stay strings, and text must stay as written.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (tag) => ["entry", "author", "category", "link"].includes(tag),
});

const text = z.union([z.string(), z.object({ "#text": z.string() }).transform((o) => o["#text"])]);

const entrySchema = z.object({
  id: text,
  title: text,
  summary: text,
  published: text.optional(),
  author: z.array(z.object({ name: text })).default([]),
  category: z.array(z.object({ "@_term": z.string() })).default([]),
});

const feedSchema = z.object({
  totalResults: z.coerce.number().int().min(0),
  entry: z.array(z.unknown()).default([]),
});

/** The search query for the new submissions of the followed categories on one day. */
export function arxivQuery(categories: string[], day: string): string {
  const d = day.replaceAll("-", "");
  const cats = categories.map((c) => `cat:${c}`).join(" OR ");
  return `(${cats}) AND submittedDate:[${d}0000 TO ${d}2359]`;
}

/** Parses one Atom page of the export API, failing clearly on anything else. */
export function parseArxivFeed(res: HttpResponse): { total: number; entries: unknown[] } {
  if (looksLikeHtml(res)) throw new SourceError(NAME, `expected an Atom feed from GET ${res.url}, got ${describeBody(res)}`);
  const valid = XMLValidator.validate(res.body);
  if (valid !== true) {
    const what = res.body.trimStart().startsWith("<") ? `malformed XML (${valid.err.msg} at line ${valid.err.line})` : describeBody(res);
    throw new SourceError(NAME, `expected an Atom feed from GET ${res.url}, got ${what}`);
  }
  const doc = parser.parse(res.body) as Record<string, unknown>;
  if (!("feed" in doc)) {
    const root = Object.keys(doc).find((k) => !k.startsWith("?")) ?? "nothing";
    throw new SourceError(NAME, `expected an Atom feed from GET ${res.url}, got <${root}>`);
  }
  const feed = feedSchema.safeParse(doc.feed ?? {});
  if (!feed.success) throw new SourceError(NAME, `Atom feed from GET ${res.url} is not a search result (${describeIssues(feed.error)})`);
  // The API reports a bad query as a feed with one entry whose id is an errors URL.
  const first = feed.data.entry[0] as { id?: unknown; summary?: unknown } | undefined;
  if (typeof first?.id === "string" && first.id.includes("/api/errors")) {
    throw new SourceError(NAME, `the API refused the query: ${typeof first.summary === "string" ? first.summary : first.id}`);
  }
  return { total: feed.data.totalResults, entries: feed.data.entry };
}

function mapEntry(raw: unknown, day: string): { paper: Paper } | { invalid: InvalidEntry } {
  const parsed = entrySchema.safeParse(raw);
  const rawId = (raw as { id?: unknown } | null)?.id;
  if (!parsed.success) return { invalid: { id: typeof rawId === "string" ? rawId : null, reason: describeIssues(parsed.error) } };
  const e = parsed.data;
  const arxivId = normalizeArxivId(e.id);
  if (!arxivId) return { invalid: { id: e.id, reason: "id: not an arXiv abs URL" } };
  const published = e.published ? Date.parse(e.published) : Number.NaN;
  return {
    paper: {
      arxivId,
      title: cleanText(e.title),
      abstract: cleanText(e.summary),
      authors: e.author.map((a) => cleanText(a.name)).filter((n) => n.length > 0),
      publishedAt: Number.isNaN(published) ? null : new Date(published),
      listingDay: day,
      upvotes: null,
      ...arxivLinks(arxivId),
      hfUrl: null,
      githubRepo: null,
      projectPage: null,
      aiSummary: null,
      aiKeywords: null,
      categories: [...new Set(e.category.map((c) => c["@_term"]))],
      source: "arxiv",
    },
  };
}

/**
 * New arXiv submissions of the followed categories on one day, from the export API.
 * One query covers every category, so a paper cross-listed in two of them is
 * returned (and stored) once.
 */
export function createArxivSource(opts: ArxivSourceOptions): PaperSource {
  const pageSize = opts.pageSize ?? 200;
  const maxPages = opts.maxPages ?? 50;
  if (opts.categories.length === 0) throw new SourceError(NAME, "ARXIV_CATEGORIES is empty");
  return {
    name: NAME,
    kind: "arxiv",
    async fetchDay(day): Promise<SourceBatch> {
      const batch: SourceBatch = { fetched: 0, papers: [], invalid: [] };
      for (let start = 0, page = 0; ; page++) {
        if (page >= maxPages) throw new SourceError(NAME, `more than ${maxPages} pages of ${pageSize} papers for ${day}; refusing to go on`);
        const url = new URL("/api/query", opts.baseUrl);
        url.searchParams.set("search_query", arxivQuery(opts.categories, day));
        url.searchParams.set("sortBy", "submittedDate");
        url.searchParams.set("sortOrder", "descending");
        url.searchParams.set("start", String(start));
        url.searchParams.set("max_results", String(pageSize));
        const { total, entries } = parseArxivFeed(await opts.http.get(url.toString(), "application/atom+xml"));
        batch.fetched += entries.length;
        for (const raw of entries) {
          const mapped = mapEntry(raw, day);
          if ("paper" in mapped) batch.papers.push(mapped.paper);
          else batch.invalid.push(mapped.invalid);
        }
        if (entries.length === 0 && start < total) {
          // The export API sometimes answers a page empty under load; a partial day must not pass as complete.
          throw new SourceError(NAME, `GET ${url.toString()} returned no entries at start=${start} of ${total}; try again later`);
        }
        start += entries.length;
        if (entries.length === 0 || start >= total) break;
      }
      return batch;
    },
  };
}
