import { fileURLToPath } from "node:url";
import formbody from "@fastify/formbody";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import helmet from "helmet";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Config } from "../config.js";
import type { AppDeps } from "./deps.js";
import { adminRoutes } from "./admin/routes.js";
import { subscriberSendStatus } from "../digests/status.js";
import { registerErrorHandling, unroutable } from "./errors.js";
import { decorateHtmlReply } from "./reply-html.js";
import { sendStatusSection } from "./pages/send-status.js";
import { siteCss } from "./pages/layout.js";
import { digestRoutes } from "./routes/digests.js";
import { feedbackRoutes } from "./routes/feedback.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoutes, registerHttpMetrics } from "./routes/metrics.js";
import { outboxRoutes } from "./routes/outbox.js";
import { feedRoutes } from "./routes/feeds.js";
import { paperPageRoutes } from "./routes/papers.js";
import { subscriberRoutes } from "./routes/subscriptions.js";
import { previewRoutes } from "./routes/preview.js";
import { providerWebhookRoutes } from "./routes/webhooks.js";

export type { AppDeps } from "./deps.js";

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** A rolled newspaper: paperboy's icon. */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3b5bdb"/><rect x="7" y="8" width="18" height="16" rx="2" fill="#fff"/><path d="M10 12h12M10 16h12M10 20h8" stroke="#3b5bdb" stroke-width="2" stroke-linecap="round"/></svg>`;

const assetsDir = fileURLToPath(new URL("./assets", import.meta.url));
/** What a forwarded request id may look like (UUIDs, ULIDs, trace ids, `req-1a`). */
const FORWARDED_REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;
let lastRequestId = 0;

/**
 * Fastify's own hop count fails closed (it trusts nobody), so a count becomes the
 * classic rule: the nearest `hops` addresses of the chain, the socket's peer first,
 * are proxies. It is only right when nothing reaches the app around those proxies.
 */
function trustProxyOption(setting: Config["TRUST_PROXY"]): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === "number") return (_address, hop) => hop < setting;
  return setting;
}

/**
 * Fastify's own two lines per request (and its error lines: src/http/errors.ts logs
 * those) become one, written when the response is done (the top-level
 * disableRequestLogging option is deprecated). The path only: query strings carry the
 * tokens of emailed links, and a route whose path is itself a token logs its pattern.
 */
class OneLinePerRequest extends LogController {
  constructor() {
    super({ disableRequestLogging: true });
  }

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const path = request.routeOptions.config.secretPath ? request.routeOptions.url : request.url.split("?", 1)[0];
    request.log.info({ method: request.method, path, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  }
}

/**
 * A form body as the WHATWG URL standard decodes it: bytes that are not UTF-8 become
 * U+FFFD, which the input rule refuses (src/input.ts), where the default parser kept
 * such a value as its raw `%ED%A0…` text. A repeated name gives an array.
 */
export function parseForm(body: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const prev = fields.get(name);
    // Appended in place: copying the array on each repeat made a 64 KB body of one name cost seconds.
    if (prev === undefined) fields.set(name, value);
    else if (Array.isArray(prev)) prev.push(value);
    else fields.set(name, [prev, value]);
  }
  // fromEntries defines own properties: a field named __proto__ stays a field.
  return Object.fromEntries(fields);
}

/**
 * Builds the whole app as a plugin tree from the services it receives (built once, in
 * src/main/services.ts); it never listens (src/main/server.ts does).
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  // Widened so the instance type uses fastify's default logger type rather than pino's Logger.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app: App = Fastify({
    loggerInstance,
    bodyLimit: 64 * 1024,
    // The client address (rate limits, consent records) is the socket's peer unless
    // TRUST_PROXY names the proxies whose X-Forwarded-For we believe.
    trustProxy: trustProxyOption(deps.config.TRUST_PROXY),
    // A proxy's X-Request-Id is kept when it looks like an id; a client's 8 KB of text, or
    // quotes and spaces that mimic other log fields, would otherwise go verbatim into every line.
    // Queries decode as forms do (parseForm): bytes that are not UTF-8 reach the input rule as U+FFFD.
    routerOptions: { querystringParser: parseForm },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && FORWARDED_REQUEST_ID.test(given) ? given : `req-${(++lastRequestId).toString(36)}`;
    },
    logController: new OneLinePerRequest(),
    frameworkErrors: unroutable,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  decorateHtmlReply(app);
  registerErrorHandling(app);
  registerHttpMetrics(app, deps.metrics);
  // Every request log line carries reqId; the client gets the same id back to quote in a report.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });

  // Security headers. helmet's middleware is built once: @fastify/helmet rebuilt it (and
  // re-parsed the CSP) on every request, about 20 µs each.
  const secureHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // The outbox preview embeds received HTML in a sandboxed same-origin iframe.
    frameguard: { action: "sameorigin" },
  });
  app.addHook("onRequest", (request, reply, done) => secureHeaders(request.raw, reply.raw, (err) => done(err as Error | undefined)));

  // External plugins first, then the app's own routes.
  await app.register(formbody, { bodyLimit: 64 * 1024, parser: parseForm });
  await app.register(rateLimit, { global: false, redis: deps.redis, nameSpace: `${deps.config.QUEUE_PREFIX}:rl:` });
  await app.register(swagger, {
    openapi: {
      info: { title: "paperboy API", version: "0.1.0", description: "Subscribe to a daily digest of research papers." },
      components: { securitySchemes: { manageToken: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
  await app.register(fastifyStatic, { root: assetsDir, prefix: "/assets/", decorateReply: false, maxAge: "1h" });
  app.get("/assets/site.css", { schema: { hide: true } }, (_req, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(siteCss),
  );
  // Browsers ask for /favicon.ico on their own; an SVG answers it (and the pages' icon link).
  for (const path of ["/favicon.ico", "/favicon.svg"]) {
    app.get(path, { schema: { hide: true } }, (_req, reply) =>
      reply.type("image/svg+xml").header("cache-control", "public, max-age=86400").send(FAVICON_SVG),
    );
  }

  await app.register(healthRoutes, { deps });
  await app.register(outboxRoutes, { deps });
  await app.register(subscriberRoutes, {
    deps,
    manageStatus: async (s) => {
      const status = await subscriberSendStatus(deps.db, s.id, new Date());
      return status ? sendStatusSection(status) : undefined;
    },
  });
  await app.register(metricsRoutes, { deps });
  await app.register(adminRoutes, { deps, testDigest: deps.testDigest });
  await app.register(previewRoutes, { deps });
  await app.register(digestRoutes, { deps });
  await app.register(feedbackRoutes, { deps });
  await app.register(providerWebhookRoutes, { deps });
  await app.register(paperPageRoutes, { deps });
  await app.register(feedRoutes, { deps });

  return app;
}
