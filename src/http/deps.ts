import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { RuntimeConfig } from "../config.js";
import type { Db } from "../db/client.js";
import type { DigestRenderer } from "../digests/render.js";
import type { Logger } from "../logger.js";
import type { Outbox } from "../local/outbox.js";
import type { SnsFetch } from "../ops/webhooks/ses.js";
import type { Metrics } from "../metrics.js";
import type { WindowCounter } from "../subscribers/counter.js";
import type { SubscriberService } from "../subscribers/service.js";

/** A job as http sees it once enqueued: the id it logs and returns to a script. */
export interface EnqueuedJob {
  jobId: string | undefined;
}

/**
 * What http asks of the job queues. http owns this seam and never imports src/jobs;
 * src/main passes the producer (src/jobs/producer.ts), which holds the job-id rules.
 */
export interface JobsPort {
  ingest(input: { day: string; source?: string | undefined }): Promise<EnqueuedJob>;
  plan(at?: Date): Promise<EnqueuedJob>;
  resend(digestId: number): Promise<EnqueuedJob>;
  /** For the admin dashboard's depths and schedules, and bull-board. */
  queues(): Queue[];
}

/** Renders and sends a one-off digest for the admin's "send a test digest" action. */
export type TestDigestSender = (input: { to: string; topics: string[] }) => Promise<{ paperCount: number }>;

/** Everything the HTTP app needs, built by an entry point (src/main/services.ts) or a test. */
export interface AppDeps {
  config: RuntimeConfig;
  pool: pg.Pool;
  db: Db;
  redis: Redis;
  /** Present when mail goes to the local outbox (npm start without SMTP_URL). */
  outbox?: Outbox | undefined;
  logger: Logger;
  metrics: Metrics;
  jobs: JobsPort;
  subscribers: SubscriberService;
  /** Counts signups per address (Redis, shared by every API process). */
  signupCounter: WindowCounter;
  /** The digest template, compiled once per process: the "view in browser" page fills it. */
  renderer: DigestRenderer;
  testDigest?: TestDigestSender | undefined;
  /** GETs SNS certificates and SubscribeURLs for /webhooks/ses; tests point it at a local server. */
  snsFetch?: SnsFetch | undefined;
}
