import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { loadBatchPapers } from "../../digests/batch-papers.js";
import { searchPapers } from "../../digests/preview.js";
import { excerpt, webUrl } from "../../digests/text.js";
import { periodLabel, reasonLine, summaryLine } from "../../digests/wording.js";
import { AppError } from "../../errors.js";
import { papersByIds, topPapersPerDay, type ListedPaper } from "../../papers/listing.js";
import { feedOwner, sentDigests } from "../../subscribers/feed.js";
import { links, type LinkContext } from "../../subscribers/links.js";
import type { AppDeps } from "../deps.js";
import { etagOf, notModified } from "../conditional.js";
import { escapeHtml } from "../html.js";
import { atomFeed, feedUpdated, type AtomEntry } from "../pages/atom.js";
import { dayLabel } from "../pages/papers.js";
import { parseQuery } from "./papers.js";

/** Days and papers per day in the trending feed; entries in a search feed; digests in a subscriber's feed. */
const FEED_DAYS = 7;
const FEED_PER_DAY = 10;
const SEARCH_ENTRIES = 50;
const DIGEST_ENTRIES = 30;

const ATOM = "application/atom+xml; charset=utf-8";

/** A paper's entry: its id is its arXiv abstract page, the same in every feed and run. */
function paperEntry(p: ListedPaper): AtomEntry {
  const arxiv = webUrl(p.arxivUrl) ?? `https://arxiv.org/abs/${encodeURIComponent(p.arxivId)}`;
  return {
    id: `https://arxiv.org/abs/${p.arxivId}`,
    title: p.title,
    updated: p.updatedAt,
    published: p.firstSeenAt,
    link: webUrl(p.hfUrl) ?? arxiv,
    authors: p.authors.slice(0, 10),
    categories: p.aiKeywords.slice(0, 8),
    summary: `▲ ${p.upvotes} · listed ${dayLabel(p.listingDay)} · ${excerpt(p.aiSummary?.trim() ? p.aiSummary : p.abstract, 600)}`,
  };
}

/**
 * Atom feeds: the trending papers of the latest listing days (`/papers/feed.atom`), a
 * search (`?q=`, the topic syntax), and each subscriber's own digests
 * (`/feed/{token}.atom`). Each answers with ETag/Last-Modified and 304.
 */
export const feedRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const base = deps.config.PUBLIC_URL.endsWith("/") ? deps.config.PUBLIC_URL : `${deps.config.PUBLIC_URL}/`;
  const abs = (path: string) => new URL(path, base).toString();
  const host = new URL(base).hostname;
  const linkCtx: LinkContext = { publicUrl: deps.config.PUBLIC_URL, secret: deps.config.TOKEN_SECRET };

  app.get(
    "/papers/feed.atom",
    { schema: { hide: true, querystring: z.object({ q: z.string().max(1000).optional() }) }, config: { page: true } },
    async (req, reply) => {
      const raw = req.query.q;
      const q = raw === undefined || raw.trim() === "" ? null : parseQuery(raw);
      const papers =
        q === null
          ? await topPapersPerDay(deps.pool, FEED_DAYS, FEED_PER_DAY)
          : await papersByIds(deps.pool, (await searchPapers(deps.db, q, { limit: SEARCH_ENTRIES, order: "newest" })).map((h) => h.id));
      const entries = papers.map(paperEntry);
      const self = q === null ? abs("papers/feed.atom") : abs(`papers/feed.atom?q=${encodeURIComponent(q)}`);
      const feed = {
        // The feed's id names what it is (a search is its normalized query), not when it was read.
        id: q === null ? `tag:${host},2026:papers/trending` : `tag:${host},2026:papers/search/${encodeURIComponent(q.toLowerCase())}`,
        title: q === null ? "paperboy · trending papers" : `paperboy · papers matching “${q}”`,
        subtitle: q === null ? `The ${FEED_PER_DAY} most upvoted papers of each listing day` : "Newest listing day first, best match first within a day",
        self,
        alternate: q === null ? abs("") : abs(`search?q=${encodeURIComponent(q)}`),
        entries,
      };
      const etag = etagOf("feed", q, ...papers.map((p) => `${p.id}:${p.updatedAt.toISOString()}`));
      if (notModified(req, reply, etag, feedUpdated(feed))) return reply;
      return reply.type(ATOM).send(atomFeed(feed));
    },
  );

  app.get(
    "/feed/:file",
    { schema: { hide: true, params: z.object({ file: z.string().max(300) }) }, config: { page: true, secretPath: true } },
    async (req, reply) => {
      const m = /^(.+)\.atom$/.exec(req.params.file);
      if (!m?.[1]) throw new AppError("NOT_FOUND", "There is no feed at this address.");
      const owner = await feedOwner(deps.db, deps.config.TOKEN_SECRET, m[1]);
      const digests = await sentDigests(deps.db, owner.id, DIGEST_ENTRIES);
      const papers = await loadBatchPapers(deps.pool, digests.map((d) => d.id));
      const entries: AtomEntry[] = digests.map((d) => {
        const list = papers.get(d.id) ?? [];
        const items = list.map((p) => {
          const url = webUrl(p.hfUrl) ?? webUrl(p.arxivUrl) ?? "https://arxiv.org/";
          const why = reasonLine(p);
          return `<li><a href="${escapeHtml(url)}">${escapeHtml(p.title)}</a>${why ? ` <em>${escapeHtml(why)}</em>` : ""}</li>`;
        });
        return {
          id: `tag:${host},2026:digest/${d.id}`,
          title: `${periodLabel(d.period, "daily")}: ${summaryLine(list)}`,
          updated: d.sentAt,
          published: d.sentAt,
          link: links.viewDigest(linkCtx, { id: owner.id, tokenVersion: owner.tokenVersion }, d.id),
          contentHtml: `<ol>${items.join("")}</ol>`,
        };
      });
      const self = abs(`feed/${m[1]}.atom`);
      const feed = {
        id: `tag:${host},2026:subscriber/${owner.id}/digests`,
        title: "paperboy · your digests",
        self,
        alternate: links.archive(linkCtx, { id: owner.id, tokenVersion: owner.tokenVersion }),
        entries,
      };
      const etag = etagOf("digest-feed", owner.id, owner.tokenVersion, ...digests.map((d) => `${d.id}:${d.sentAt.toISOString()}`));
      reply.header("referrer-policy", "no-referrer");
      if (notModified(req, reply, etag, feedUpdated(feed))) {
        reply.header("cache-control", "private, max-age=0, must-revalidate");
        return reply;
      }
      return reply.header("cache-control", "private, max-age=0, must-revalidate").type(ATOM).send(atomFeed(feed));
    },
  );
};
