import { Queue, type ConnectionOptions } from "bullmq";

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

export const QUEUE_NAMES = ["ingest", "plan", "send"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface Queues {
  ingest: Queue<IngestJob>;
  plan: Queue<PlanJob>;
  send: Queue<SendJob>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * `onError` receives every queue's errors (a queue without an `error` listener prints
 * raw stack traces with console.error); entry points route them to the Redis outage log.
 */
export function createQueues(connection: ConnectionOptions, prefix: string, onError?: (err: Error) => void): Queues {
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
  const all = () => [ingest, plan, send] as Queue[];
  for (const q of all()) q.on("error", onError ?? (() => undefined));
  return {
    ingest,
    plan,
    send,
    all,
    async close() {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
