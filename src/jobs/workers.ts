import { Worker, type ConnectionOptions, type Job, type WorkerOptions } from "bullmq";
import type { Logger } from "../logger.js";
import type { JobMetrics } from "../metrics.js";
import type { IngestJob, PlanJob, QueueName, SendJob } from "./queues.js";

export interface JobHandlers {
  ingest?: (job: Job<IngestJob>) => Promise<unknown>;
  plan?: (job: Job<PlanJob>) => Promise<unknown>;
  send?: (job: Job<SendJob>) => Promise<unknown>;
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
  add("send", handlers.send, {
    concurrency: settings.sendConcurrency,
    ...(settings.sendJobsPerSecond ? { limiter: { max: settings.sendJobsPerSecond, duration: 1000 } } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    workers,
    close: () => (closing ??= Promise.all(workers.map((w) => w.close())).then(() => undefined)),
  };
}
