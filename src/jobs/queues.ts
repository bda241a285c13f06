import { Queue, type ConnectionOptions } from "bullmq";
import type { SubscriberMailJob } from "../subscribers/mail.js";

/** Jobs carry ids and dates only; the handlers re-read state from Postgres. */
export interface IngestJob {
  /** YYYY-MM-DD; absent means "today and yesterday" (what the scheduler asks for). */
  day?: string;
  /** A source name (huggingface, arxiv, file:PATH); absent means every configured source. */
  source?: string;
}
export interface PlanJob {
  /** ISO time to plan for; absent means now. */
  at?: string;
}
export interface SendJob {
  digestIds: number[];
  /** When this batch last made progress before the server turned busy (ms since epoch); set while it is deferred. */
  deferredSince?: number;
  /** Deferrals in a row without progress: the exponent of the next pause. */
  deferrals?: number;
  /** How often this batch's digests were handed back after a job of theirs failed for good. */
  handbacks?: number;
}

export type { SubscriberMailJob };

export const QUEUE_NAMES = ["ingest", "plan", "send", "mail"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface Queues {
  ingest: Queue<IngestJob>;
  plan: Queue<PlanJob>;
  send: Queue<SendJob>;
  /** Subscriber emails (confirmation, already subscribed, import confirmation). */
  mail: Queue<SubscriberMailJob>;
  all(): Queue[];
  close(): Promise<void>;
}

export interface QueueOptions {
  /** Attempts of a subscriber email, spaced by exponential backoff from mailBackoffMs. */
  mailAttempts: number;
  mailBackoffMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = { mailAttempts: 10, mailBackoffMs: 15_000 };

/**
 * `onError` receives every queue's errors (a queue without an `error` listener prints
 * raw stack traces with console.error); entry points route them to the Redis outage log.
 */
export function createQueues(
  connection: ConnectionOptions,
  prefix: string,
  onError?: (err: Error) => void,
  options: QueueOptions = DEFAULT_QUEUE_OPTIONS,
): Queues {
  const opts = { connection, prefix };
  const ingest = new Queue<IngestJob>("ingest", {
    ...opts,
    defaultJobOptions: { attempts: 5, backoff: { type: "exponential", delay: 30_000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  });
  const plan = new Queue<PlanJob>("plan", {
    ...opts,
    defaultJobOptions: { attempts: 3, backoff: { type: "exponential", delay: 10_000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  });
  const send = new Queue<SendJob>("send", {
    ...opts,
    defaultJobOptions: { attempts: 5, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: 5000, removeOnFail: 5000 },
  });
  // Retries span SMTP outages (10 attempts from 15 s: about 2 h 8 min); the job ids are unique per signup.
  const mail = new Queue<SubscriberMailJob>("mail", {
    ...opts,
    defaultJobOptions: {
      attempts: options.mailAttempts,
      backoff: { type: "exponential", delay: options.mailBackoffMs },
      removeOnComplete: 5000,
      removeOnFail: 5000,
    },
  });
  const all = () => [ingest, plan, send, mail] as Queue[];
  for (const q of all()) q.on("error", onError ?? (() => undefined));
  return {
    ingest,
    plan,
    send,
    mail,
    all,
    async close() {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
