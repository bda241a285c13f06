import { Worker, type ConnectionOptions, type Job, type WorkerOptions } from "bullmq";
import type { Logger } from "../logger.js";
import type { JobMetrics } from "../metrics.js";
import type { IngestJob, PlanJob, QueueName, SendJob, SubscriberMailJob } from "./queues.js";

export interface JobHandlers {
  ingest?: (job: Job<IngestJob>) => Promise<unknown>;
  plan?: (job: Job<PlanJob>) => Promise<unknown>;
  /**
   * `token` is BullMQ's lock token, needed to move the job to delayed; `stopping` aborts
   * when the process shuts down, so the batch claims nothing new and hands the rest back.
   */
  send?: (job: Job<SendJob>, token: string | undefined, stopping: AbortSignal) => Promise<unknown>;
  /** A send job failed for good (out of attempts, or stalled past its limit): its digests must not wait for the sweep. */
  sendFailedForGood?: (job: Job<SendJob>, err: Error) => Promise<unknown>;
  mail?: (job: Job<SubscriberMailJob>) => Promise<unknown>;
}

export interface WorkerSettings {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  sendConcurrency: number;
  /** Counts completed and failed jobs by queue (exposed on /metrics of this process). */
  metrics?: JobMetrics | undefined;
  /** Global cap on send jobs as a BullMQ limiter window; see sendLimiter(). */
  sendLimiter?: { max: number; duration: number } | undefined;
  /** BullMQ lock duration and stalled-check interval for send jobs (ms): how soon a dead worker's job is taken over. */
  sendLockMs?: number | undefined;
  /** Stalls (its worker died) a job survives before BullMQ fails it; defaults in STALL_LIMITS. */
  stallLimits?: Partial<Record<QueueName, number>> | undefined;
  /** Where workers' errors go (the Redis outage log); default: logged one by one. */
  onError?: ((err: Error) => void) | undefined;
  /** Subscriber emails (one per job) sent at once per process; default 4. */
  mailConcurrency?: number | undefined;
}

/**
 * How many times a job may stall (the worker running it died or froze past its lock)
 * before BullMQ fails it instead of handing it to another worker. BullMQ's default is
 * one, so two worker deaths during the same job abandon it.
 * - send: 5. A send job is safe to run again any number of times (every digest is
 *   claimed first), so only a job that kills every worker it meets is worth stopping;
 *   and when one does fail for good its digests are handed back at once (a fresh job),
 *   while each digest's own SEND_MAX_ATTEMPTS stops one that keeps killing its worker.
 * - plan: 3. Planning is idempotent (unique subscriber and period); the next hourly
 *   run catches anything a failed one left.
 * - ingest: 2. Upserts repeat harmlessly, and the next hourly ingest covers the day again.
 * - mail: 2. A subscriber email run again may be sent twice (same Message-ID), which
 *   beats losing a confirmation; a job that keeps killing workers is not worth more.
 */
export const STALL_LIMITS: Record<QueueName, number> = { send: 5, plan: 3, ingest: 2, mail: 2 };

/**
 * BullMQ's limiter counts jobs, and a send job carries up to `batchSize` digests. To
 * hold SEND_RATE_PER_SECOND emails/s globally, start at most rate/batchSize jobs a
 * second (for rates below one batch a second: one job every batchSize/rate seconds).
 * Inside a job the sender paces itself at the same rate, so a batch does not burst;
 * two overlapping jobs can briefly exceed the rate, never the average.
 */
export function sendLimiter(emailsPerSecond: number, batchSize: number): { max: number; duration: number } {
  if (emailsPerSecond >= batchSize) return { max: Math.floor(emailsPerSecond / batchSize), duration: 1000 };
  return { max: 1, duration: Math.ceil((1000 * batchSize) / emailsPerSecond) };
}

export interface Workers {
  workers: Worker[];
  /**
   * Stops taking jobs, tells running send jobs to claim nothing new (they finish what is
   * in flight, mark it, and put the rest back on the queue), and waits for them. Safe twice.
   */
  close(): Promise<void>;
}

export function startWorkers(handlers: JobHandlers, settings: WorkerSettings): Workers {
  const workers: Worker[] = [];
  const stopping = new AbortController();
  const onError = settings.onError ?? ((err: Error) => settings.logger.error({ err: err.message }, "worker error"));
  const limits = { ...STALL_LIMITS, ...settings.stallLimits };
  const add = <T>(name: QueueName, fn: ((job: Job<T>, token?: string) => Promise<unknown>) | undefined, extra: Partial<WorkerOptions> = {}) => {
    if (!fn) return;
    const worker = new Worker<T>(name, fn, { connection: settings.connection, prefix: settings.prefix, maxStalledCount: limits[name], ...extra });
    worker.on("failed", (job, err) => {
      settings.metrics?.failed(name);
      settings.logger.warn({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "job failed");
      // finishedOn is set only when the job moved to failed for good (no retry follows).
      if (name === "send" && job && typeof job.finishedOn === "number" && handlers.sendFailedForGood) {
        handlers.sendFailedForGood(job as Job<SendJob>, err).catch((e: unknown) =>
          settings.logger.error({ jobId: job.id, err: (e as Error).message }, "could not hand back the digests of a failed send job; the sweep will"),
        );
      }
    });
    worker.on("completed", () => settings.metrics?.completed(name));
    worker.on("error", onError);
    workers.push(worker as Worker);
  };
  add("ingest", handlers.ingest, { concurrency: 1 });
  add("plan", handlers.plan, { concurrency: 1 });
  const limiter = settings.sendLimiter;
  const send = handlers.send;
  add("send", send && ((job: Job<SendJob>, token?: string) => send(job, token, stopping.signal)), {
    concurrency: settings.sendConcurrency,
    ...(limiter ? { limiter } : {}),
    ...(settings.sendLockMs ? { lockDuration: settings.sendLockMs, stalledInterval: settings.sendLockMs } : {}),
  });
  add("mail", handlers.mail, { concurrency: settings.mailConcurrency ?? 4 });
  let closing: Promise<void> | undefined;
  return {
    workers,
    close: () =>
      (closing ??= (() => {
        stopping.abort();
        return Promise.all(workers.map((w) => w.close())).then(() => undefined);
      })()),
  };
}
