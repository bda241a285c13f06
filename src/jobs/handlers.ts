import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { Config } from "../config.js";
import { planDigests } from "../digests/plan.js";
import type { Db } from "../db/client.js";
import { buildDigestSender } from "../digests/sender.js";
import { classifySmtpError, type BatchResult, type DigestSender } from "../digests/send.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { Metrics } from "../metrics.js";
import { createRedisWindowCounter } from "../subscribers/counter.js";
import { createSubscriberMailSender } from "../subscribers/mail.js";
import { deleteExpiredPendingSignups } from "../subscribers/pending-signups.js";
import { createIngestHandler } from "./ingest.js";
import { enqueueSendBatches } from "./enqueue.js";
import { sweepStaleDigests } from "./sweep.js";
import type { Queues, SendJob } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: Config & { TOKEN_SECRET: string };
  db: Db;
  pool: pg.Pool;
  /** For the per-address cap on subscriber emails (shared with the API's counters). */
  redis: Redis;
  logger: Logger;
  mailer: Mailer;
  queues: Queues;
  metrics?: Metrics | undefined;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
  // Compiled on the first send job, then reused by every job of this process.
  let sender: Promise<DigestSender> | undefined;
  const getSender = () => (sender ??= buildDigestSender(deps));
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
        onQueued: (ids) => enqueueSendBatches(deps.queues, ids, deps.config.SEND_BATCH_SIZE).then(() => undefined),
      });
      // The hourly plan is also when digests left behind by failed send jobs go out again.
      const swept = await sweepStaleDigests(deps.pool, deps.queues, {
        staleMs: deps.config.SEND_SWEEP_AFTER_MS,
        leaseMs: deps.config.SEND_LEASE_MS,
        batchSize: deps.config.SEND_BATCH_SIZE,
        now,
      });
      const expiredSignups = await deleteExpiredPendingSignups(deps.db, now);
      const { queuedDigestIds, ...counts } = summary;
      deps.logger.info({ at: now.toISOString(), ...counts, queued: queuedDigestIds.length, swept, expiredSignups }, "plan finished");
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
        if (classifySmtpError(err) === "permanent") throw new UnrecoverableError(`mail job ${job.id}: ${(err as Error).message}`);
        throw err;
      }
    },
    async send(job: Job<SendJob>, token?: string) {
      const s = await getSender();
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const result = await s.sendBatch(job.data.digestIds, { finalAttempt });
      recordSendMetrics(deps, result);
      const { sentLagSeconds: _lags, ...counts } = result;
      deps.logger.info({ jobId: job.id, ...counts }, "send batch");
      if (result.retry > 0) {
        // Thrown so BullMQ retries with exponential backoff; sent digests are not claimable again.
        throw new Error(`${result.retry} digest(s) hit a transient SMTP failure and are queued for retry`);
      }
      if (result.leased > 0 && token) {
        // Another claim (maybe of a dead worker) holds some digests: look again when its lease ends.
        await job.moveToDelayed(Date.now() + result.leaseWaitMs + 250, token);
        throw new DelayedError();
      }
      return result;
    },
  };
}

/** Feeds /metrics: one lag sample per digest this batch sent, and the bounce/failure counts. */
function recordSendMetrics(deps: JobDeps, result: BatchResult) {
  const m = deps.metrics?.send;
  if (!m) return;
  for (const lag of result.sentLagSeconds) m.sent(lag);
  for (let i = 0; i < result.bounced; i++) m.bounced();
  for (let i = 0; i < result.failed; i++) m.failed();
}
