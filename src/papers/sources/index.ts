import type { Config } from "../../config.js";
import { createHttpClient, createSpacingLimiter, systemClock, type Clock } from "../http.js";
import { SourceError, type PaperSource } from "../paper.js";
import { ARXIV_REQUEST_INTERVAL_MS, createArxivSource } from "./arxiv.js";
import { createFileSource } from "./file.js";
import { createHuggingFaceSource } from "./huggingface.js";

export type SourcesConfig = Pick<Config, "HF_API_URL" | "ARXIV_API_URL" | "ARXIV_CATEGORIES" | "HTTP_TIMEOUT_MS">;

export interface SourceDeps {
  config: SourcesConfig;
  /** Tests pass a fake clock: retries and the arXiv spacing then never really wait. */
  clock?: Clock;
  fetch?: typeof fetch;
  /** file:PATH is resolved against this; the working directory by default. */
  cwd?: string;
  /** Overrides for tests (small pages exercise paging). */
  hfPageSize?: number;
  arxivPageSize?: number;
  maxAttempts?: number;
}

export const SOURCE_SPEC = /^(huggingface|arxiv|file:.+)$/;

/** Builds the source a spec names (huggingface, arxiv or file:PATH). */
export function createSource(spec: string, deps: SourceDeps): PaperSource {
  const clock = deps.clock ?? systemClock;
  const http = (source: string, extra: Partial<Parameters<typeof createHttpClient>[0]> = {}) =>
    createHttpClient({
      source,
      timeoutMs: deps.config.HTTP_TIMEOUT_MS,
      clock,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.maxAttempts ? { maxAttempts: deps.maxAttempts } : {}),
      ...extra,
    });
  if (spec === "huggingface") {
    return createHuggingFaceSource({ http: http("huggingface"), baseUrl: deps.config.HF_API_URL, pageSize: deps.hfPageSize });
  }
  if (spec === "arxiv") {
    return createArxivSource({
      http: http("arxiv", { limiter: createSpacingLimiter(ARXIV_REQUEST_INTERVAL_MS, clock) }),
      baseUrl: deps.config.ARXIV_API_URL,
      categories: deps.config.ARXIV_CATEGORIES,
      pageSize: deps.arxivPageSize,
    });
  }
  if (spec.startsWith("file:") && spec.length > 5) return createFileSource({ path: spec.slice(5), cwd: deps.cwd });
  throw new SourceError(spec, `unknown source "${spec}" (huggingface, arxiv or file:PATH)`);
}

/**
 * The configured sources, built once per process: the arXiv limiter must outlive a
 * single run to keep its 3-second spacing between runs too.
 */
export function createSources(specs: string[], deps: SourceDeps): PaperSource[] {
  return [...new Set(specs)].map((s) => createSource(s, deps));
}
