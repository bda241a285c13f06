import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { previewTopics } from "../../digests/preview.js";
import { validationError } from "../../errors.js";
import { TOPIC_MAX, TOPIC_MIN, TOPICS_MAX } from "../../subscribers/topics.js";
import type { AppDeps } from "../deps.js";
import { errorBody } from "../schemas.js";


/** `topics` may be repeated (?topics=a&topics=b) or one value with a topic per line, as a textarea sends it. */
const topicsParam = z.union([z.string(), z.array(z.string())]).optional();

/** The signup rules: 1–20 topics of 2–100 characters each, errors naming `topics` or `topics.i`. */
export function parseTopicsParam(v: string | string[] | undefined): string[] {
  const topics = (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(/\r?\n/))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (topics.length === 0) throw validationError("topics", "Enter at least one topic.");
  if (topics.length > TOPICS_MAX) throw validationError("topics", `Enter at most ${TOPICS_MAX} topics.`);
  topics.forEach((t, i) => {
    if (t.length < TOPIC_MIN || t.length > TOPIC_MAX) {
      throw validationError(`topics.${i}`, `Topic "${t.slice(0, 40)}" must be ${TOPIC_MIN}–${TOPIC_MAX} characters long.`);
    }
  });
  return topics;
}

/** A calendar date, YYYY-MM-DD (2026-02-30 is refused, not rolled over). */
export function parseDay(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);
  if (!ok) throw validationError("date", `"${v.slice(0, 20)}" is not a date like 2026-11-27.`);
  return v;
}

const previewBody = z.object({
  day: z.string().nullable().describe("The listing day previewed; the latest one unless `date` was given."),
  count: z.number().int().describe("How many papers of that day the topics match."),
  papers: z.array(
    z.object({
      arxivId: z.string(),
      title: z.string(),
      url: z.string(),
      upvotes: z.number().int(),
      score: z.number(),
      matchedTopics: z.array(z.string()),
      matchedWords: z.array(z.string()),
    }),
  ),
});

export const previewRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    "/api/preview",
    {
      schema: {
        tags: ["topics"],
        summary: "What these topics would have matched on a listing day",
        description:
          "Topics use web-search syntax (words, \"phrases\", or, -exclusion). Scores and order are those of a digest. Rate limited per IP.",
        querystring: z.object({
          topics: topicsParam,
          date: z.string().optional().describe("Listing day, YYYY-MM-DD; the latest one when absent."),
          limit: z.coerce.number().int().min(1).max(50).default(10),
        }),
        response: { 200: previewBody, 400: errorBody, 429: errorBody },
      },
      config: { rateLimit: { max: 60, timeWindow: "1 minute" } },
    },
    async (req) => previewTopics(deps.db, parseTopicsParam(req.query.topics), { day: parseDay(req.query.date), limit: req.query.limit }),
  );
};
