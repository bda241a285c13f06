import type { SubscriberMailJob, SubscriberMailQueue } from "../subscribers/mail.js";
import type { Queues } from "./queues.js";

/** The job id of a subscriber email: one per kind, subscriber and signup version (BullMQ ignores a second add). */
export function subscriberMailJobId(job: SubscriberMailJob): string {
  return `${job.kind}-${job.subscriberId}-v${job.version}`;
}

export type JobsProducer = SubscriberMailQueue;

/**
 * Every enqueue that code outside src/jobs asks for, behind the interfaces those
 * callers own (http's JobsPort, the CLI). Jobs carry ids only.
 */
export function createJobsProducer(queues: Queues): JobsProducer {
  return {
    async enqueueSubscriberMail(jobs) {
      if (jobs.length === 0) return;
      const items = jobs.map((data) => ({ name: data.kind, data: { kind: data.kind, subscriberId: data.subscriberId, version: data.version }, opts: { jobId: subscriberMailJobId(data) } }));
      if (items.length === 1) {
        const [one] = items;
        await queues.mail.add(one!.name, one!.data, one!.opts);
      } else {
        await queues.mail.addBulk(items);
      }
    },
  };
}
