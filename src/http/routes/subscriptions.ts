import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../errors.js";
import { mailboxKey } from "../../subscribers/address.js";
import { preferencesPatchSchema, signupSchema } from "../../subscribers/preferences.js";
import { bearerToken } from "../bearer.js";
import type { AppDeps } from "../deps.js";
import { errorBody, tokenQuery } from "../schemas.js";
import { SIGNUP_ACCEPTED, subscriberPageRoutes, type AddressGuard, type SubscriberRouteOptions } from "./pages.js";



const acceptedBody = z.object({ status: z.literal("accepted"), message: z.string() });

const preferencesBody = z.object({
  email: z.string().nullable(),
  status: z.enum(["pending", "active", "unsubscribed", "bounced", "complained"]),
  topics: z.array(z.string()),
  frequency: z.enum(["daily", "weekly"]),
  weekday: z.number().int(),
  sendHour: z.number().int(),
  timezone: z.string(),
  maxPapers: z.number().int(),
  sendWhenEmpty: z.boolean(),
  addTrending: z.boolean(),
  paused: z.boolean(),
  pausedAt: z.string().nullable(),
  confirmedAt: z.string().nullable(),
});

const exportBody = z.object({
  preferences: preferencesBody,
  consent: z.object({
    signedUpAt: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    confirmedAt: z.string().nullable(),
    confirmIp: z.string().nullable(),
  }),
  createdAt: z.string(),
  unsubscribedAt: z.string().nullable(),
  digests: z.array(z.object({ period: z.string(), status: z.string(), paperCount: z.number().int(), sentAt: z.string().nullable() })),
  events: z.array(z.object({ type: z.string(), source: z.string(), at: z.string() })),
  votes: z.array(z.object({ arxivId: z.string(), title: z.string(), vote: z.enum(["more", "less"]), at: z.string() })),
});

const security = [{ manageToken: [] }];

/** The manage token, from `Authorization: Bearer …` or `?token=`. */
function manageToken(req: { headers: FastifyRequest["headers"]; query: { token?: string | undefined } }): string {
  const fromHeader = bearerToken(req.headers.authorization);
  if (fromHeader) return fromHeader;
  if (req.query.token) return req.query.token;
  throw new AppError("INVALID_TOKEN", "A manage token is required: use the link from one of our emails.");
}


const subscriptionApiRoutes: FastifyPluginAsyncZod<SubscriberRouteOptions> = async (app, { service, guardAddress, signupRateLimit }) => {
  // Answers about one subscriber, reached with their token: no cache may keep them.
  app.addHook("onRequest", (req, reply, done) => {
    if ((req.routeOptions.url ?? "").startsWith("/api/subscriptions/me")) reply.header("cache-control", "no-store");
    done();
  });

  app.post(
    "/api/subscriptions",
    {
      config: { rateLimit: signupRateLimit },
      schema: {
        tags: ["subscriptions"],
        summary: "Sign up (double opt-in): always 202 with the same body",
        body: signupSchema,
        response: { 202: acceptedBody, 400: errorBody, 413: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => {
      await guardAddress(req.body.email);
      await service.signup(req.body, { ip: req.ip, userAgent: req.headers["user-agent"] ?? null });
      return reply.code(202).send(SIGNUP_ACCEPTED);
    },
  );

  app.get(
    "/api/subscriptions/me",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Your preferences and everything we hold about you",
        security,
        querystring: tokenQuery,
        response: { 200: exportBody, 403: errorBody },
      },
    },
    async (req) => {
      const s = await service.check(manageToken(req), "manage");
      return service.exportData(s);
    },
  );

  app.patch(
    "/api/subscriptions/me",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Change preferences, pause or resume",
        security,
        querystring: tokenQuery,
        body: preferencesPatchSchema,
        response: { 200: z.object({ preferences: preferencesBody, changed: z.array(z.string()) }), 400: errorBody, 403: errorBody, 413: errorBody },
      },
    },
    async (req) => {
      const { preferences, changed } = await service.update(manageToken(req), req.body);
      return { preferences, changed };
    },
  );

  app.post(
    "/api/subscriptions/me/unsubscribe",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Unsubscribe (idempotent)",
        security,
        querystring: tokenQuery,
        response: { 200: preferencesBody, 403: errorBody },
      },
    },
    async (req) => {
      const s = await service.unsubscribe(manageToken(req), "manage", "api");
      return service.preferences(s);
    },
  );

  app.delete(
    "/api/subscriptions/me",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Erase your personal data (anonymous counts remain)",
        security,
        querystring: tokenQuery,
        response: { 200: z.object({ status: z.literal("erased") }), 403: errorBody },
      },
    },
    async (req) => {
      await service.erase(manageToken(req));
      return { status: "erased" as const };
    },
  );
};

/** Signup, confirmation, preferences and unsubscribe: the JSON API and the pages share one service. */
export const subscriberRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; manageStatus?: SubscriberRouteOptions["manageStatus"] }> = async (
  app,
  { deps, manageStatus },
) => {
  const { config } = deps;
  const { subscribers: service, signupCounter: counter } = deps;
  const windowMs = config.SIGNUP_RATE_LIMIT_WINDOW_SECONDS * 1000;
  const guardAddress: AddressGuard = async (email) => {
    // Per inbox, not per spelling: 200 plus-addresses of one inbox share one limit.
    const key = `signup-address:${createHash("sha256").update(mailboxKey(email)).digest("hex").slice(0, 32)}`;
    if ((await counter.hit(key, windowMs)) > config.SIGNUP_RATE_LIMIT_PER_ADDRESS) throw new AppError("RATE_LIMITED");
  };
  const opts: SubscriberRouteOptions = {
    deps,
    service,
    guardAddress,
    signupRateLimit: { max: config.SIGNUP_RATE_LIMIT_PER_IP, timeWindow: windowMs },
    ...(manageStatus ? { manageStatus } : {}),
  };
  await app.register(subscriptionApiRoutes, opts);
  await app.register(subscriberPageRoutes, opts);
};
