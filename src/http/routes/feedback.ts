import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../errors.js";
import { links } from "../../subscribers/links.js";
import { recordVote, removeVote, resolveFeedback } from "../../subscribers/votes.js";
import type { AppDeps } from "../deps.js";
import { feedbackPage, type FeedbackState } from "../pages/feedback.js";

const token = z.string().min(1).max(200);

/**
 * "More like this" / "Less like this" under every paper of a digest. The GET only shows
 * the paper and one button (link scanners open every link); the POST records the vote
 * (the last one per paper wins, a repeat changes nothing) and /feedback/undo removes it.
 */
export const feedbackRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const secret = deps.config.TOKEN_SECRET;
  if (!secret) throw new Error("TOKEN_SECRET is not set: build the app from openRuntime()");
  const linkCtx = { publicUrl: deps.config.PUBLIC_URL, secret };
  const page = { page: true } as const;
  const htmlResponses = { 200: z.string(), 400: z.string(), 403: z.string(), 404: z.string() };

  async function answer(t: string, state: FeedbackState) {
    const target = await resolveFeedback(deps.db, secret, t);
    const { subscriber, paper, vote } = target;
    let current = target.current;
    let shown: FeedbackState = "ask";
    if (state === "recorded") {
      if (!(await recordVote(deps.db, subscriber.id, paper.id, vote))) throw new AppError("NOT_FOUND", "This paper is no longer in paperboy.");
      current = vote;
      shown = "recorded";
    } else if (state === "undone") {
      await removeVote(deps.db, subscriber.id, paper.id);
      current = null;
      shown = "undone";
    }
    return feedbackPage({ token: t, paper, vote, current, state: shown, manageUrl: links.manage(linkCtx, subscriber) });
  }

  const headers = (reply: { header: (k: string, v: string) => unknown }) => {
    reply.header("cache-control", "private, no-store");
    reply.header("referrer-policy", "no-referrer");
  };

  app.get(
    "/feedback",
    {
      config: page,
      schema: { tags: ["feedback"], summary: "The page behind a More/Less like this link (changes nothing)", querystring: z.object({ token }), response: htmlResponses },
    },
    async (req, reply) => {
      headers(reply);
      return reply.html(await answer(req.query.token, "ask"));
    },
  );

  for (const [path, state, summary] of [
    ["/feedback", "recorded", "Record the link's vote (idempotent: the last vote per paper wins)"],
    ["/feedback/undo", "undone", "Remove the subscriber's vote on the link's paper"],
  ] as const) {
    app.post(
      path,
      { config: page, schema: { tags: ["feedback"], summary, body: z.object({ token }), response: htmlResponses } },
      async (req, reply) => {
        headers(reply);
        return reply.html(await answer(req.body.token, state));
      },
    );
  }
};
