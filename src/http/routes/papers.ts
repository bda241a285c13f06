import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { searchPapers } from "../../digests/preview.js";
import { validationError } from "../../errors.js";
import { addDays, weekStart } from "../../days.js";
import { listingStamp, papersByIds, papersOfDays, type ListingStamp } from "../../papers/listing.js";
import { topicSchema } from "../../subscribers/preferences.js";
import type { AppDeps } from "../deps.js";
import { etagOf, notModified } from "../conditional.js";
import { listingPage, PAPERS_CSS, type ListingPageOptions } from "../pages/papers.js";
import { parseDay } from "./preview.js";

/** Bumped when the page's markup changes, so validators from an older build do not match. */
const PAGE_VERSION = 1;
/** A listing day holds a few hundred papers at most; a week is shown to this many. */
const DAY_LIMIT = 300;
const WEEK_LIMIT = 150;
const SEARCH_LIMIT = 50;
const CACHE_ENTRIES = 64;


/** A search as typed in the box: a topic, under the same rule as a subscriber's (src/input.ts), named `q`. */
export function parseQuery(v: string | undefined): string {
  const parsed = topicSchema.safeParse((v ?? "").replace(/[ \t\r\n]+/g, " "));
  if (!parsed.success) throw validationError("q", `The search ${parsed.error.issues[0]?.message ?? "cannot be used."}`);
  return parsed.data;
}

const dayParam = z.object({ day: z.string().max(64) });
const searchQuery = z.object({ q: z.string().max(1000, "The search is longer than 1,000 characters.").optional() });

/**
 * The Daily Papers pages: `/` (the latest listing day), `/papers/YYYY-MM-DD`,
 * `/papers/week/YYYY-MM-DD` and `/search?q=`. Each answers with ETag and Last-Modified
 * and a 304 to a client that has the page; a rendered page is kept (a few dozen, by
 * ETag) so a repeated request costs one small query on papers_listing_day_idx.
 */
export const paperPageRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  // Kept encoded: a 50 KB page is not UTF-8 encoded again for every request.
  const rendered = new Map<string, Buffer>();
  const remember = (etag: string, page: Buffer) => {
    if (rendered.size >= CACHE_ENTRIES) rendered.delete(rendered.keys().next().value ?? "");
    rendered.set(etag, page);
    return page;
  };

  app.get("/assets/papers.css", { schema: { hide: true } }, (_req, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(PAPERS_CSS),
  );

  /**
   * Stamps are reused for PAGE_CACHE_MS, and concurrent requests for the same page share
   * one query: papers change when an ingest runs (hourly), so a page a second old is as
   * good as a fresh one, and a busy `/` then costs no database round trip per request.
   */
  const stamps = new Map<string, { at: number; value: Promise<{ stamp: ListingStamp; etag: string }> }>();
  function stampFor(kind: "day" | "week", from: string | null, to: string | null) {
    const key = `${kind}|${from ?? ""}|${to ?? ""}`;
    const now = Date.now();
    const hit = stamps.get(key);
    if (hit && now - hit.at < deps.config.PAGE_CACHE_MS) return hit.value;
    const value = listingStamp(deps.pool, from, to).then((stamp) => ({
      stamp,
      etag: etagOf(PAGE_VERSION, kind, stamp.from, stamp.to, stamp.count, stamp.updatedAt?.toISOString(), stamp.prev, stamp.next),
    }));
    if (stamps.size >= CACHE_ENTRIES) stamps.clear();
    stamps.set(key, { at: now, value });
    value.catch(() => stamps.delete(key));
    return value;
  }

  /** A day or week page: stamp, validators, then (only if needed) the papers and the render. */
  async function listing(kind: "day" | "week", from: string | null, to: string | null, limit: number) {
    const { stamp, etag } = await stampFor(kind, from, to);
    return {
      stamp,
      etag,
      render: async () => {
        const cached = rendered.get(etag);
        if (cached !== undefined) return cached;
        const papers = stamp.from && stamp.to ? await papersOfDays(deps.pool, stamp.from, stamp.to, limit) : [];
        const opts: ListingPageOptions = { kind, from: stamp.from, to: stamp.to, prev: stamp.prev, next: stamp.next, papers, q: "", feed: "/papers/feed.atom" };
        return remember(etag, Buffer.from(listingPage(opts)));
      },
    };
  }

  app.get("/", { schema: { hide: true }, config: { page: true } }, async (req, reply) => {
    const l = await listing("day", null, null, DAY_LIMIT);
    if (notModified(req, reply, l.etag, l.stamp.updatedAt)) return reply;
    return reply.html(await l.render());
  });

  app.get("/papers/:day", { schema: { hide: true, params: dayParam }, config: { page: true } }, async (req, reply) => {
    const day = parseDay(req.params.day) ?? "";
    const l = await listing("day", day, day, DAY_LIMIT);
    if (notModified(req, reply, l.etag, l.stamp.updatedAt)) return reply;
    // A day without papers still offers its neighbours, but says so with its status.
    return reply.code(l.stamp.count === 0 ? 404 : 200).html(await l.render());
  });

  app.get("/papers/week/:day", { schema: { hide: true, params: dayParam }, config: { page: true } }, async (req, reply) => {
    const monday = weekStart(parseDay(req.params.day) ?? "");
    const l = await listing("week", monday, addDays(monday, 6), WEEK_LIMIT);
    if (notModified(req, reply, l.etag, l.stamp.updatedAt)) return reply;
    return reply.code(l.stamp.count === 0 ? 404 : 200).html(await l.render());
  });

  app.get("/search", { schema: { hide: true, querystring: searchQuery }, config: { page: true } }, async (req, reply) => {
    if (req.query.q === undefined || req.query.q.trim() === "") return reply.redirect("/", 303);
    const q = parseQuery(req.query.q);
    const hits = await searchPapers(deps.db, q, { limit: SEARCH_LIMIT });
    const papers = await papersByIds(deps.pool, hits.map((h) => h.id));
    const latest = papers.reduce<Date | null>((m, p) => (m === null || p.updatedAt > m ? p.updatedAt : m), null);
    const etag = etagOf(PAGE_VERSION, "search", q, ...papers.map((p) => `${p.id}:${p.updatedAt.toISOString()}`));
    if (notModified(req, reply, etag, latest)) return reply;
    const words = new Map(hits.map((h) => [h.id, h.words]));
    const page = listingPage({
      kind: "search",
      from: null,
      to: null,
      prev: null,
      next: null,
      papers,
      q,
      words,
      feed: `/papers/feed.atom?q=${encodeURIComponent(q)}`,
    });
    return reply.html(page);
  });
};
