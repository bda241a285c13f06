import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { recordEmailEvent } from "../../digests/email-events.js";
import { loadDigest } from "../../digests/view.js";
import { AppError } from "../../errors.js";
import { personText } from "../../input.js";
import { sameSecret, verifyToken } from "../../subscribers/tokens.js";
import { bearerToken } from "../bearer.js";
import type { AppDeps } from "../deps.js";
import { errorBody } from "../schemas.js";


const eventBody = z
  .object({
    messageId: personText().min(3).max(998).optional().describe("The Message-ID of the digest, e.g. <digest-42@example.org>"),
    email: z.email().max(320).optional().describe("The subscriber's address, when the provider has no Message-ID"),
    type: z.enum(["bounce", "complaint"]),
    permanent: z.boolean().default(true).describe("A hard bounce; temporary bounces are recorded only"),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.messageId && !v.email) ctx.addIssue({ code: "custom", path: ["messageId"], message: "give messageId or email" });
  });

/** The digest in the browser (the email's "view in browser" link) and the bounce/complaint webhook. */
export const digestRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const secret = deps.config.TOKEN_SECRET;
  if (!secret) throw new Error("TOKEN_SECRET is not set: build the app from openRuntime()");
  const { renderer } = deps;

  app.get(
    "/digests/:id",
    {
      config: { page: true },
      schema: {
        tags: ["digests"],
        summary: "A digest as it was emailed, for reading in the browser",
        params: z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
        querystring: z.object({ token: z.string().min(1).max(200) }),
        response: { 200: z.string(), 400: z.string(), 403: z.string(), 410: z.string() },
      },
    },
    async (req, reply) => {
      const claims = verifyToken(secret, req.query.token, "view");
      const stored = await loadDigest(deps.pool, req.params.id);
      // Someone else's digest, a missing one, or a revoked token all read the same.
      if (!stored || stored.input.recipient.subscriberId !== claims.subscriberId || stored.tokenVersion !== claims.version) {
        throw new AppError("INVALID_TOKEN");
      }
      if (stored.erased) throw new AppError("GONE");
      // Every paper: the email may have listed only the first ones and linked here for the rest.
      const { html } = renderer.page(stored.input);
      return reply.header("cache-control", "private, no-store").header("referrer-policy", "no-referrer").html(html);
    },
  );

  app.post(
    "/webhooks/email-events",
    {
      onRequest: async (req) => {
        const expected = deps.config.WEBHOOK_TOKEN;
        if (!expected) throw new AppError("WEBHOOK_DISABLED");
        const given = bearerToken(req.headers.authorization);
        if (!given || !sameSecret(given, expected)) throw new AppError("UNAUTHORIZED", "A valid bearer token is required.");
      },
      schema: {
        tags: ["webhooks"],
        summary: "Report a bounce or complaint (bearer WEBHOOK_TOKEN); suppresses the subscriber",
        body: eventBody,
        response: {
          200: z.object({ matched: z.boolean(), subscriberStatus: z.string().optional() }),
          400: errorBody,
          401: errorBody,
          404: errorBody,
        },
      },
    },
    async (req) => {
      const body = req.body;
      const outcome = await recordEmailEvent(deps.pool, { mailDomain: deps.config.MAIL_DOMAIN, bounceLimit: deps.config.BOUNCE_LIMIT }, {
        messageId: body.messageId,
        email: body.email,
        type: body.type,
        permanent: body.permanent,
        source: "webhook",
      });
      req.log.info({ type: body.type, permanent: body.permanent, ...outcome }, "email event");
      return outcome;
    },
  );
};
