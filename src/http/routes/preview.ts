import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { previewTopics } from "../../digests/preview.js";
import { validationError } from "../../errors.js";
import { calendarDay, DAY_MAX, DAY_MIN, isCalendarDay } from "../../input.js";
import { fieldErrors, topicsSchema } from "../../subscribers/preferences.js";
import { parseTopicList } from "../../subscribers/topics.js";
import type { AppDeps } from "../deps.js";
import { errorBody } from "../schemas.js";


/** `topics` may be repeated (?topics=a&topics=b) or one value with a topic per line, as a textarea sends it. */
const topicsParam = z.union([z.string(), z.array(z.string())]).optional();

/** The signup rules (topicsSchema), errors naming `topics` or `topics.i`; a preview needs at least one topic. */
export function parseTopicsParam(v: string | string[] | undefined): string[] {
  const lines = parseTopicList(v);
  if (lines.length === 0) throw validationError("topics", "Enter at least one topic.");
  const parsed = topicsSchema.safeParse(lines);
  if (parsed.success) return parsed.data;
  const [first] = fieldErrors(parsed.error);
  throw validationError(first?.field === "body" ? "topics" : `topics${first?.field ? `.${first.field}` : ""}`, first?.message ?? "Invalid topics.");
}

/** A listing day from a URL or query (a real calendar date in the input rule's range), or a 400 naming `field`. */
export function parseDay(v: string | undefined, field = "date"): string | undefined {
  if (v === undefined) return undefined;
  if (!isCalendarDay(v)) throw validationError(field, `"${v.slice(0, 20)}" is not a date like 2026-11-27 (between ${DAY_MIN} and ${DAY_MAX}).`);
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
          date: calendarDay.optional().describe("Listing day, YYYY-MM-DD; the latest one when absent."),
          limit: z.coerce.number().int().min(1).max(50).default(10),
        }),
        response: { 200: previewBody, 400: errorBody, 429: errorBody },
      },
      config: { rateLimit: { max: 60, timeWindow: "1 minute" } },
    },
    async (req) => previewTopics(deps.db, parseTopicsParam(req.query.topics), { day: req.query.date, limit: req.query.limit }),
  );
};
