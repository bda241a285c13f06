import { SourceError, type InvalidEntry, type Paper, type PaperSource, type SourceBatch } from "../paper.js";
import { parseJsonBody, type HttpClient } from "../http.js";
import { mapHfEntry } from "./hf-shape.js";

export interface HuggingFaceSourceOptions {
  http: HttpClient;
  /** HF_API_URL, e.g. https://huggingface.co */
  baseUrl: string;
  /** Entries asked per page; a shorter page is the last one. */
  pageSize?: number;
  /** A guard against an upstream that never returns a short page. */
  maxPages?: number;
}

/** Hugging Face Daily Papers: the community-curated list of one day, with upvotes and AI summaries. */
export function createHuggingFaceSource(opts: HuggingFaceSourceOptions): PaperSource {
  const name = "huggingface";
  // A short page ends the paging, so stay well under any cap the API puts on `limit`.
  const pageSize = opts.pageSize ?? 50;
  const maxPages = opts.maxPages ?? 50;
  return {
    name,
    kind: "huggingface",
    async fetchDay(day): Promise<SourceBatch> {
      const papers: Paper[] = [];
      const invalid: InvalidEntry[] = [];
      let fetched = 0;
      const seen = new Set<string>();
      for (let page = 0; ; page++) {
        if (page >= maxPages) throw new SourceError(name, `more than ${maxPages} pages of ${pageSize} papers for ${day}; refusing to go on`);
        const url = new URL("/api/daily_papers", opts.baseUrl);
        url.searchParams.set("date", day);
        url.searchParams.set("limit", String(pageSize));
        url.searchParams.set("p", String(page));
        const res = await opts.http.get(url.toString(), "application/json");
        const body = parseJsonBody(name, res);
        if (!Array.isArray(body)) {
          throw new SourceError(name, `expected a JSON array of daily papers from GET ${res.url}, got ${body === null ? "null" : typeof body}`);
        }
        fetched += body.length;
        let fresh = 0;
        for (const raw of body) {
          const mapped = mapHfEntry(raw, day, "huggingface");
          if ("paper" in mapped) {
            papers.push(mapped.paper);
            if (!seen.has(mapped.paper.arxivId)) fresh++;
            seen.add(mapped.paper.arxivId);
          } else invalid.push(mapped.invalid);
        }
        // A full page of papers already seen means the API ignored `p`: asking again would loop.
        if (body.length < pageSize || (fresh === 0 && papers.length > 0)) break;
      }
      return { fetched, papers, invalid };
    },
  };
}
