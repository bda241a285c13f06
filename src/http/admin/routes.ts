import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  digestsPerDay,
  recentFailedDigests,
  recentIngestRuns,
  requeueFailedDigest,
  signupsPerDay,
  subscribersByStatus,
} from "../../ops/stats.js";
import { AppError } from "../../errors.js";
import { calendarDay } from "../../input.js";
import { emailSchema, topicsSchema } from "../../subscribers/preferences.js";
import { parseTopicList } from "../../subscribers/topics.js";
import type { AppDeps, TestDigestSender } from "../deps.js";
import { adminGuard, sameOriginGuard } from "./auth.js";
import { adminOffPage, dashboardPage, QUEUE_STATES, type ScheduledRun } from "./page.js";

const NOTICES = {
  ingest: { kind: "ok", text: "Ingest queued." },
  plan: { kind: "ok", text: "Plan queued: due digests will be planned and sent." },
  test: { kind: "ok", text: "Test digest sent." },
  resend: { kind: "ok", text: "Digest queued for sending again." },
  "resend-none": { kind: "error", text: "That digest is not failed any more (already resent?)." },
} as const;

/** The admin's topics textarea, one per line, under the same rules as a subscriber's. */
const topicsField = z.string().transform((v) => parseTopicList(v)).pipe(topicsSchema);

function wantsHtml(request: FastifyRequest) {
  return (request.headers.accept ?? "").includes("text/html");
}

/** Where a form goes back to; scripts using a bearer token get JSON instead. */
function done(request: FastifyRequest, reply: FastifyReply, notice: keyof typeof NOTICES, extra: Record<string, unknown> = {}) {
  if (request.adminAuth === "bearer" && !wantsHtml(request)) {
    if (NOTICES[notice].kind === "error") throw new AppError("CONFLICT", NOTICES[notice].text);
    return reply.code(200).send({ ok: true, notice: NOTICES[notice].text, ...extra });
  }
  return reply.code(303).header("location", `/admin?done=${notice}`).send();
}

const actionReply = { 200: z.object({ ok: z.literal(true), notice: z.string() }).loose(), 303: z.undefined() };

/** A test digest is rendered and sent right away, so no address or topic lands in Redis. */
export const adminRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; testDigest?: TestDigestSender | undefined }> = async (app, { deps, testDigest }) => {
  const token = deps.config.ADMIN_TOKEN;

  if (!token) {
    // Admin off: every admin URL says so (and how to turn it on) instead of a bare 404.
    const off = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method === "GET" && wantsHtml(request)) return reply.code(404).html(adminOffPage());
      throw new AppError("ADMIN_DISABLED");
    };
    app.all("/admin", { schema: { hide: true } }, off);
    app.all("/admin/*", { schema: { hide: true } }, off);
    return;
  }

  app.addHook("onRequest", adminGuard(token));
  app.addHook("onRequest", sameOriginGuard(deps.config.PUBLIC_URL));
  // Admin pages keep their origin on same-site requests (helmet's default is no-referrer,
  // under which a browser's form posts say `Origin: null`), and leak nothing to other sites.
  app.addHook("onRequest", async (_req, reply) => {
    reply.header("referrer-policy", "same-origin");
  });

  app.get(
    "/admin",
    { schema: { hide: true, querystring: z.object({ done: z.enum(Object.keys(NOTICES) as [keyof typeof NOTICES]).optional() }) }, config: { page: true } },
    async (req, reply) => {
      const now = new Date();
      const queues = deps.jobs.queues();
      const [subscribers, signups, digests, ingestRuns, failedDigests, depths, schedulers] = await Promise.all([
        subscribersByStatus(deps.db),
        signupsPerDay(deps.db, 30, now),
        digestsPerDay(deps.db, 30, now),
        recentIngestRuns(deps.db, 10),
        recentFailedDigests(deps.db, 20),
        Promise.all(queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...QUEUE_STATES) }))),
        Promise.all(queues.map(async (q) => ({ queue: q.name, list: await q.getJobSchedulers(0, 49, true) }))),
      ]);
      const schedules: ScheduledRun[] = schedulers
        .flatMap(({ queue, list }) =>
          list.map((s) => ({ queue, key: s.key, pattern: s.pattern ?? (s.every ? `every ${s.every} ms` : null), tz: s.tz ?? null, next: s.next ? new Date(s.next) : null })),
        )
        .sort((a, b) => (a.next?.getTime() ?? Infinity) - (b.next?.getTime() ?? Infinity));
      const page = dashboardPage({
        subscribers,
        signups,
        digests,
        ingestRuns,
        failedDigests,
        queues: depths,
        schedules,
        sources: deps.config.PAPERS_SOURCES,
        today: now.toISOString().slice(0, 10),
        testDigestAvailable: Boolean(testDigest),
        notice: req.query.done ? NOTICES[req.query.done] : undefined,
      });
      return reply.header("cache-control", "no-store").html(page);
    },
  );

  app.post(
    "/admin/actions/ingest",
    {
      schema: {
        hide: true,
        body: z.object({
          day: calendarDay,
          source: z
            .string()
            .optional()
            .refine((s) => !s || deps.config.PAPERS_SOURCES.includes(s), `must be one of the configured sources (${deps.config.PAPERS_SOURCES.join(", ")}) or empty for all`),
        }),
        response: actionReply,
      },
      config: { page: true },
    },
    async (req, reply) => {
      const { day, source } = req.body;
      const job = await deps.jobs.ingest({ day, source });
      req.log.info({ jobId: job.jobId, day, source: source ?? "all" }, "admin queued ingest");
      return done(req, reply, "ingest", { jobId: job.jobId });
    },
  );

  app.post(
    "/admin/actions/plan",
    { schema: { hide: true, response: actionReply }, config: { page: true } },
    async (req, reply) => {
      const job = await deps.jobs.plan(new Date());
      req.log.info({ jobId: job.jobId }, "admin queued plan");
      return done(req, reply, "plan", { jobId: job.jobId });
    },
  );

  app.post(
    "/admin/actions/test-digest",
    { schema: { hide: true, body: z.object({ email: emailSchema, topics: topicsField }), response: actionReply }, config: { page: true } },
    async (req, reply) => {
      if (!testDigest) throw new AppError("UNAVAILABLE", "Test digests are not available: the digest renderer is not wired into the API.");
      const result = await testDigest({ to: req.body.email, topics: req.body.topics });
      req.log.info({ topics: req.body.topics.length, papers: result.paperCount }, "admin sent a test digest");
      return done(req, reply, "test", { paperCount: result.paperCount });
    },
  );

  app.post(
    "/admin/digests/:id/resend",
    { schema: { hide: true, params: z.object({ id: z.coerce.number().int().positive() }), response: actionReply }, config: { page: true } },
    async (req, reply) => {
      const id = req.params.id;
      if (!(await requeueFailedDigest(deps.db, id))) return done(req, reply, "resend-none", { digestId: id });
      const job = await deps.jobs.resend(id);
      req.log.info({ digestId: id, jobId: job.jobId }, "admin resent a failed digest");
      return done(req, reply, "resend", { digestId: id, jobId: job.jobId });
    },
  );

  // bull-board over every queue, behind the same guard (the hook above covers this child too).
  const board = new FastifyAdapter();
  board.setBasePath("/admin/queues");
  createBullBoard({ queues: deps.jobs.queues().map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: "paperboy queues" } } });
  await app.register(board.registerPlugin(), { prefix: "/admin/queues" });
};
