import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { RuntimeConfig } from "../config.js";
import { planDigests } from "../digests/plan.js";
import type { Db } from "../db/client.js";
import { classifySmtpError, type BatchResult, type DigestSender } from "../digests/send.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { Metrics } from "../metrics.js";
import { createRedisWindowCounter } from "../subscribers/counter.js";
import { createSubscriberMailSender, subscriberMailDone } from "../subscribers/mail.js";
import { deleteExpiredPendingSignups, owedConfirmations } from "../subscribers/pending-signups.js";
import { createIngestHandler } from "./ingest.js";
import type { JobsProducer } from "./producer.js";
import { sweepStaleDigests } from "./sweep.js";
import type { Queues, SendJob } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: RuntimeConfig;
  db: Db;
  pool: pg.Pool;
  /** For the per-address cap on subscriber emails (shared with the API's counters). */
  redis: Redis;
  logger: Logger;
  mailer: Mailer;
  /** For the send queue's rate limit when the mail server is busy. */
  queues: Queues;
  /** Every enqueue a handler makes (send batches after a plan, the sweep, hand-backs). */
  jobs: JobsProducer;
  metrics?: Metrics | undefined;
  /** Built once per process by src/main/services.ts. */
  sender: DigestSender;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
  const sendSubscriberMail = createSubscriberMailSender({
    db: deps.db,
    mailer: deps.mailer,
    logger: deps.logger,
    counter: createRedisWindowCounter(deps.redis, `${deps.config.QUEUE_PREFIX}:subscribers`),
    config: deps.config,
  });

  return {
    ingest: createIngestHandler({ ...deps, metrics: deps.metrics?.ingest }),
    // Planning is idempotent: a retried or duplicate plan job creates no digest twice,
    // and send batches already enqueued keep their job ids. Scheduled jobs carry no
    // time (a delayed job's timestamp is when it was queued), so they plan for now.
    plan: async (job) => {
      const now = job.data.at ? new Date(job.data.at) : new Date();
      if (Number.isNaN(now.getTime())) throw new UnrecoverableError(`plan job has an invalid time: ${job.data.at}`);
      const summary = await planDigests(deps.db, {
        now,
        listingTimeZone: deps.config.INGEST_TZ,
        onQueued: (ids) => deps.jobs.sendBatches(ids).then(() => undefined),
      });
      // The hourly plan is also when digests left behind by failed send jobs go out again.
      const swept = await sweepStaleDigests(deps.pool, deps.jobs, {
        staleMs: deps.config.SEND_SWEEP_AFTER_MS,
        leaseMs: deps.config.SEND_LEASE_MS,
        maxAttempts: deps.config.SEND_MAX_ATTEMPTS,
        batchSize: deps.config.SEND_BATCH_SIZE,
        now,
      });
      const expiredSignups = await deleteExpiredPendingSignups(deps.db, now);
      // Confirmation emails whose jobs Redis lost (a restart without AOF) go out after all.
      const owed = await owedConfirmations(deps.db, now);
      if (owed.length > 0) await deps.jobs.enqueueSubscriberMail(owed);
      const { queuedDigestIds, ...counts } = summary;
      deps.logger.info({ at: now.toISOString(), ...counts, queued: queuedDigestIds.length, swept, expiredSignups, owedConfirmations: owed.length }, "plan finished");
      return { ...counts, queued: queuedDigestIds.length, swept };
    },
    // One subscriber email. SMTP 4xx and dropped connections throw, so BullMQ retries with
    // backoff (TRANSACTIONAL_MAIL_*); a 5xx will not change on retry.
    mail: async (job) => {
      const { kind, subscriberId, version } = job.data;
      if (!["confirm", "already-subscribed", "import-confirm"].includes(kind) || !Number.isSafeInteger(subscriberId) || !Number.isSafeInteger(version)) {
        throw new UnrecoverableError(`mail job ${job.id}: not a subscriber email job`);
      }
      try {
        return await sendSubscriberMail(job.data, { firstAttempt: job.attemptsMade === 0 });
      } catch (err) {
        if (classifySmtpError(err) === "permanent") {
          await subscriberMailDone(deps.db, job.data);
          throw new UnrecoverableError(`mail job ${job.id}: ${(err as Error).message}`);
        }
        throw err;
      }
    },
    async send(job: Job<SendJob>, token: string | undefined, stopping: AbortSignal) {
      const s = deps.sender;
      const result = await s.sendBatch(job.data.digestIds, { signal: stopping });
      recordSendMetrics(deps, result);
      const { sentLagSeconds: _lags, ...counts } = result;
      const log = deps.logger.child({ jobId: job.id });
      log.info(counts, "send batch");
      const left = result.deferred + result.held;
      if (left > 0 && stopping.aborted && result.deferred === 0 && token) {
        // Shutting down: what was in flight is marked; the rest goes back for another worker, at once
        // (unless the server was busy too: then it waits out the pause like any deferred batch).
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (left > 0) return deferBatch(deps, s, job, token, result, log);
      if (result.leased > 0 && token) {
        // Another claim (maybe of a dead worker) holds some digests: look again when its lease ends.
        await job.moveToDelayed(Date.now() + result.leaseWaitMs + 250, token);
        throw new DelayedError();
      }
      return result;
    },
    // A send job that failed for good (out of attempts, or stalled past its limit) leaves
    // its digests queued, or sending until their lease runs out; a fresh job for the same
    // ids takes them at once instead of the hourly sweep (claims keep them sent once).
    async sendFailedForGood(job) {
      const handbacks = (job.data.handbacks ?? 0) + 1;
      if (handbacks > MAX_HANDBACKS) {
        deps.logger.warn({ jobId: job.id, handbacks }, "send job failed for good again; its digests wait for the sweep");
        return;
      }
      await deps.jobs.handback(String(job.id), job.data.digestIds, handbacks);
      deps.logger.warn({ jobId: job.id, digests: job.data.digestIds.length, handbacks }, "send job failed for good; its digests were handed back");
    },
  };
}

/** Hand-backs of one batch before the hourly sweep is left to deal with it (a batch that keeps failing). */
const MAX_HANDBACKS = 5;

/**
 * A batch with digests left after the server said "busy" (4xx, refused or dropped
 * connections, timeouts) waits and runs again, with a pause that doubles from
 * SEND_RETRY_DELAY_MS up to SEND_RETRY_MAX_DELAY_MS. When the whole batch was throttled
 * (every lane met a busy server in a row) all sending pauses as long, through the send
 * queue's rate limiter, so other batches do not knock on the same door meanwhile. The
 * deferral is not a failed attempt of the job, and no digest spends an attempt on it.
 * After SEND_RETRY_WINDOW_MS without progress the batch gives up: its digests still
 * queued become `failed`, and the sweep retries them within their period.
 */
async function deferBatch(deps: JobDeps, s: DigestSender, job: Job<SendJob>, token: string | undefined, r: BatchResult, log: Logger) {
  const { SEND_RETRY_DELAY_MS: base, SEND_RETRY_MAX_DELAY_MS: max, SEND_RETRY_WINDOW_MS: window } = deps.config;
  const now = Date.now();
  const progress = r.sent + r.bounced + r.skipped > 0;
  const since = progress || job.data.deferredSince === undefined ? now : job.data.deferredSince;
  const deferrals = progress ? 1 : (job.data.deferrals ?? 0) + 1;
  if (!token) throw new Error(`${r.deferred + r.held} digest(s) deferred and no lock token to delay the job with`);
  if (now - since >= window) {
    const reason = `the mail server stayed busy or away for ${Math.round((now - since) / 60_000)} min (retry window): ${r.transientError ?? "no answer"}`;
    const failed = await s.failQueued(job.data.digestIds, reason);
    for (let i = 0; i < failed; i++) deps.metrics?.send.failed();
    log.error({ failed, since: new Date(since).toISOString(), lastError: r.transientError }, "send batch gave up after its retry window; the sweep retries its digests within their period");
    return { ...r, failed: r.failed + failed };
  }
  const delay = Math.min(max, base * 2 ** Math.min(deferrals - 1, 30));
  await job.updateData({ ...job.data, deferredSince: since, deferrals });
  if (r.throttled) await deps.queues.send.rateLimit(delay);
  log.warn(
    { deferred: r.deferred, held: r.held, throttled: r.throttled, retryInMs: delay, deferrals, busyForMs: now - since, lastError: r.transientError },
    r.throttled ? "mail server busy: sending paused" : "some digests deferred after a transient failure",
  );
  await job.moveToDelayed(now + delay, token);
  throw new DelayedError();
}

/** Feeds /metrics: one lag sample per digest this batch sent, and the bounce/failure counts. */
function recordSendMetrics(deps: JobDeps, result: BatchResult) {
  const m = deps.metrics?.send;
  if (!m) return;
  for (const lag of result.sentLagSeconds) m.sent(lag);
  for (let i = 0; i < result.bounced; i++) m.bounced();
  for (let i = 0; i < result.failed; i++) m.failed();
}
