import { Worker, type ConnectionOptions, type Job, type WorkerOptions } from "bullmq";
import type { Logger } from "../logger.js";
import type { JobMetrics } from "../metrics.js";
import type { IngestJob, PlanJob, QueueName, SendJob, SubscriberMailJob } from "./queues.js";

export interface JobHandlers {
  ingest?: (job: Job<IngestJob>) => Promise<unknown>;
  plan?: (job: Job<PlanJob>) => Promise<unknown>;
  /** `token` is BullMQ's lock token, needed to move the job to delayed. */
  send?: (job: Job<SendJob>, token?: string) => Promise<unknown>;
  mail?: (job: Job<SubscriberMailJob>) => Promise<unknown>;
}

export interface WorkerSettings {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  sendConcurrency: number;
  /** Global cap on send jobs per second across every worker process (BullMQ limiter). */
  sendJobsPerSecond?: number;
  /** Counts completed and failed jobs by queue (exposed on /metrics of this process). */
  metrics?: JobMetrics | undefined;
  /** Global cap on send jobs as a BullMQ limiter window; see sendLimiter(). Wins over sendJobsPerSecond. */
  sendLimiter?: { max: number; duration: number } | undefined;
  /** BullMQ lock duration and stalled-check interval for send jobs (ms): how soon a dead worker's job is taken over. */
  sendLockMs?: number | undefined;
  /** Subscriber emails (one per job) sent at once per process; default 4. */
  mailConcurrency?: number | undefined;
}

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
  /** Stops taking jobs and waits for the running ones to finish. Safe twice. */
  close(): Promise<void>;
}

export function startWorkers(handlers: JobHandlers, settings: WorkerSettings): Workers {
  const workers: Worker[] = [];
  const add = <T>(name: QueueName, fn: ((job: Job<T>) => Promise<unknown>) | undefined, extra: Partial<WorkerOptions> = {}) => {
    if (!fn) return;
    const worker = new Worker<T>(name, fn, { connection: settings.connection, prefix: settings.prefix, ...extra });
    worker.on("failed", (job, err) => {
      settings.metrics?.failed(name);
      settings.logger.warn({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "job failed");
    });
    worker.on("completed", () => settings.metrics?.completed(name));
    worker.on("error", (err) => settings.logger.error({ queue: name, err: err.message }, "worker error"));
    workers.push(worker as Worker);
  };
  add("ingest", handlers.ingest, { concurrency: 1 });
  add("plan", handlers.plan, { concurrency: 1 });
  const limiter = settings.sendLimiter ?? (settings.sendJobsPerSecond ? { max: settings.sendJobsPerSecond, duration: 1000 } : undefined);
  add("send", handlers.send, {
    concurrency: settings.sendConcurrency,
    ...(limiter ? { limiter } : {}),
    ...(settings.sendLockMs ? { lockDuration: settings.sendLockMs, stalledInterval: settings.sendLockMs } : {}),
  });
  add("mail", handlers.mail, { concurrency: settings.mailConcurrency ?? 4 });
  let closing: Promise<void> | undefined;
  return {
    workers,
    close: () => (closing ??= Promise.all(workers.map((w) => w.close())).then(() => undefined)),
  };
}
