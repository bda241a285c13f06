import type { FastifyInstance } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Metrics } from "../../metrics.js";
import { adminGuard } from "../admin/auth.js";
import type { AppDeps } from "../deps.js";

/**
 * Times every request by its route pattern (never the raw URL, which would make a
 * series per token or id). Registered on the root instance so it sees every route.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.http.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

/**
 * GET /metrics in the Prometheus text format. When ADMIN_TOKEN is set it is required
 * (bearer, or basic auth as for /admin), so a public API does not publish its
 * internals; without ADMIN_TOKEN it is open, for a scraper on a private network.
 */
export const metricsRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  if (deps.config.ADMIN_TOKEN) app.addHook("onRequest", adminGuard(deps.config.ADMIN_TOKEN));
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["health"],
        summary: "Prometheus metrics (needs ADMIN_TOKEN when one is set)",
        response: { 200: z.string() },
      },
    },
    async (_req, reply) => reply.type(deps.metrics.contentType).header("cache-control", "no-store").send(await deps.metrics.render()),
  );
};
