import { DelayedError, type Job } from "bullmq";
import type pg from "pg";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { buildDigestSender } from "../digests/sender.js";
import type { DigestSender } from "../digests/send.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { Queues, SendJob } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: Config & { TOKEN_SECRET: string };
  db: Db;
  pool: pg.Pool;
  logger: Logger;
  mailer: Mailer;
  queues: Queues;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
  // Compiled on the first send job, then reused by every job of this process.
  let sender: Promise<DigestSender> | undefined;
  const getSender = () => (sender ??= buildDigestSender(deps));

  return {
    async send(job: Job<SendJob>, token?: string) {
      const s = await getSender();
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const result = await s.sendBatch(job.data.digestIds, { finalAttempt });
      deps.logger.info({ jobId: job.id, ...result }, "send batch");
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
