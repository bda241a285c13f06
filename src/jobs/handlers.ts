import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import type pg from "pg";
import type { RuntimeConfig } from "../config.js";
import { planDigests } from "../digests/plan.js";
import type { Db } from "../db/client.js";
import type { BatchResult, DigestSender } from "../digests/send.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { Metrics } from "../metrics.js";
import { createIngestHandler } from "./ingest.js";
import { enqueueSendBatches } from "./producer.js";
import { sweepStaleDigests } from "./sweep.js";
import type { Queues, SendJob } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: RuntimeConfig;
  db: Db;
  pool: pg.Pool;
  logger: Logger;
  mailer: Mailer;
  queues: Queues;
  metrics?: Metrics | undefined;
  /** Built once per process by src/main/services.ts. */
  sender: DigestSender;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
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
      const { queuedDigestIds, ...counts } = summary;
      deps.logger.info({ at: now.toISOString(), ...counts, queued: queuedDigestIds.length, swept }, "plan finished");
      return { ...counts, queued: queuedDigestIds.length, swept };
    },
    async send(job: Job<SendJob>, token?: string) {
      const s = deps.sender;
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
