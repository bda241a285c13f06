import type { SubscriberMailJob, SubscriberMailQueue } from "../subscribers/mail.js";
import type { Queues } from "./queues.js";

/** The job id of a subscriber email: one per kind, subscriber and signup version (BullMQ ignores a second add). */
export function subscriberMailJobId(job: SubscriberMailJob): string {
  return `${job.kind}-${job.subscriberId}-v${job.version}`;
}

export type JobsProducer = SubscriberMailQueue;

interface Waiting {
  jobs: SubscriberMailJob[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Every enqueue that code outside src/jobs asks for, behind the interfaces those
 * callers own (http's JobsPort, the CLI). Jobs carry ids only.
 *
 * Subscriber emails asked for in the same turn of the event loop (concurrent signups)
 * go to Redis together, as one addBulk (one MULTI, one round trip); each caller's
 * promise resolves when Redis holds its jobs, as with a single add.
 */
export function createJobsProducer(queues: Queues): JobsProducer {
  let waiting: Waiting[] = [];
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = waiting;
    waiting = [];
    const items = batch.flatMap((w) =>
      w.jobs.map((data) => ({ name: data.kind, data: { kind: data.kind, subscriberId: data.subscriberId, version: data.version }, opts: { jobId: subscriberMailJobId(data) } })),
    );
    try {
      if (items.length === 1) await queues.mail.add(items[0]!.name, items[0]!.data, items[0]!.opts);
      else await queues.mail.addBulk(items);
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  return {
    enqueueSubscriberMail(jobs) {
      if (jobs.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ jobs, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
