import { UnrecoverableError } from "bullmq";
import type { Config } from "../config.js";
import { planDigests } from "../digests/plan.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { createIngestHandler } from "./ingest.js";
import { enqueueSendBatches } from "./enqueue.js";
import type { Queues } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: Config & { TOKEN_SECRET: string };
  db: Db;
  logger: Logger;
  mailer: Mailer;
  queues: Queues;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
  return {
    ingest: createIngestHandler(deps),
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
      const { queuedDigestIds, ...counts } = summary;
      deps.logger.info({ at: now.toISOString(), ...counts, queued: queuedDigestIds.length }, "plan finished");
      return { ...counts, queued: queuedDigestIds.length };
    },
  };
}
