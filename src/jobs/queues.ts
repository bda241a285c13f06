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

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
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
