import { SourceError } from "./paper.js";

/** Time as the HTTP client sees it; tests pass a fake one so nothing really waits. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Spaces requests out: each take() resolves at least intervalMs after the previous one. */
export interface Limiter {
  take(): Promise<void>;
}

export function createSpacingLimiter(intervalMs: number, clock: Clock): Limiter {
  let nextAt = Number.NEGATIVE_INFINITY;
  let queue: Promise<void> = Promise.resolve();
  return {
    take() {
      // Chained, so callers that arrive together still leave one interval apart.
      queue = queue.then(async () => {
        const wait = nextAt - clock.now();
        if (wait > 0) await clock.sleep(wait);
        nextAt = clock.now() + intervalMs;
      });
      return queue;
    },
  };
}

export interface HttpResponse {
  url: string;
  status: number;
  contentType: string;
  body: string;
}

export interface HttpClientOptions {
  /** Names the source in every error message. */
  source: string;
  timeoutMs: number;
  /** Attempts in all, including the first. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this fails the run instead; the job retries later. */
  maxRetryAfterMs?: number;
  clock?: Clock;
  limiter?: Limiter;
  fetch?: typeof fetch;
  userAgent?: string;
}

export interface HttpClient {
  get(url: string, accept: string): Promise<HttpResponse>;
}

const RETRYABLE = (status: number) => status === 429 || status === 408 || status >= 500;

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * GET with a timeout on every attempt, retrying 429, 408 and 5xx answers and
 * network failures with exponential backoff (or the server's Retry-After). Other
 * answers are final. Every failure is a SourceError naming the source.
 */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const clock = opts.clock ?? systemClock;
  const maxAttempts = opts.maxAttempts ?? 3;
  const baseDelayMs = opts.baseDelayMs ?? 1000;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
  const doFetch = opts.fetch ?? fetch;
  const userAgent = opts.userAgent ?? "paperboy/0.1 (+https://github.com/paperboy)";

  return {
    async get(url, accept) {
      let lastProblem = "";
      let answered = false;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        await opts.limiter?.take();
        let delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        try {
          const res = await doFetch(url, {
            headers: { accept, "user-agent": userAgent },
            signal: AbortSignal.timeout(opts.timeoutMs),
            redirect: "follow",
          });
          const body = await res.text();
          answered = true;
          if (res.ok) return { url, status: res.status, contentType: res.headers.get("content-type") ?? "", body };
          lastProblem = `GET ${url} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
          if (!RETRYABLE(res.status)) throw new SourceError(opts.source, lastProblem);
          const retryAfter = parseRetryAfter(res.headers.get("retry-after"), clock.now());
          if (retryAfter !== undefined) {
            if (retryAfter > maxRetryAfterMs) {
              throw new SourceError(opts.source, `${lastProblem} and asked to wait ${Math.ceil(retryAfter / 1000)} s (Retry-After)`);
            }
            delay = retryAfter;
          }
        } catch (err) {
          if (err instanceof SourceError) throw err;
          const e = err as Error;
          lastProblem =
            e.name === "TimeoutError" || e.name === "AbortError"
              ? `GET ${url} timed out after ${opts.timeoutMs} ms`
              : `GET ${url} failed: ${(e.cause as Error | undefined)?.message ?? e.message}`;
        }
        if (attempt < maxAttempts) await clock.sleep(delay);
      }
      throw new SourceError(opts.source, `${lastProblem} (gave up after ${maxAttempts} attempts)`, { unreachable: !answered });
    },
  };
}

/** Error pages of proxies and maintenance screens arrive as HTML, often with status 200. */
export function looksLikeHtml(res: HttpResponse): boolean {
  const head = res.body.trimStart().slice(0, 200).toLowerCase();
  return head.startsWith("<!doctype html") || head.startsWith("<html") || res.contentType.includes("text/html");
}

/** Describes a body that is not the document we asked for, for the run's error. */
export function describeBody(res: HttpResponse): string {
  if (looksLikeHtml(res)) {
    const title = /<title[^>]*>([^<]{0,120})/i.exec(res.body)?.[1]?.trim();
    return `an HTML page${title ? ` ("${title}")` : ""}`;
  }
  if (res.body.trim() === "") return "an empty body";
  return `${res.contentType || "an untyped body"} of ${res.body.length} bytes`;
}

/** Parses a JSON body, failing with a clear message for HTML pages and truncated JSON. */
export function parseJsonBody(source: string, res: HttpResponse): unknown {
  const text = res.body.trimStart();
  if (text.startsWith("<") || res.contentType.includes("text/html")) {
    throw new SourceError(source, `expected JSON from GET ${res.url}, got ${describeBody(res)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SourceError(
      source,
      `GET ${res.url} returned invalid JSON (${(err as Error).message}; ${res.body.length} bytes, truncated?)`,
      { cause: err },
    );
  }
}
