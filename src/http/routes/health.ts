import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../deps.js";

const check = z.object({ ok: z.boolean(), error: z.string().optional() });
const readyBody = z.object({ status: z.enum(["ready", "unavailable"]), postgres: check, redis: check });

async function probe(fn: () => Promise<unknown>): Promise<z.infer<typeof check>> {
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 2 s")), 2000).unref())]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export const healthRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    "/healthz",
    { schema: { tags: ["health"], summary: "The process is alive", response: { 200: z.object({ status: z.literal("ok") }) } } },
    () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["health"],
        summary: "Postgres and Redis answer",
        response: { 200: readyBody, 503: readyBody },
      },
    },
    async (_req, reply) => {
      const [postgres, redis] = await Promise.all([probe(() => deps.pool.query("select 1")), probe(() => deps.redis.ping())]);
      const ok = postgres.ok && redis.ok;
      return reply.code(ok ? 200 : 503).send({ status: ok ? "ready" : "unavailable", postgres, redis });
    },
  );
};
