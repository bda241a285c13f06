import { createHash } from "node:crypto";
import type { Queue } from "bullmq";
import type { SubscriberMailJob, SubscriberMailQueue } from "../subscribers/mail.js";
import type { Queues } from "./queues.js";

/**
 * Puts digest ids on the send queue in batches. The job id is derived from the
 * batch's ids, so enqueueing the same digests again (a retried plan job, a second
 * planner) adds nothing: BullMQ ignores a job whose id it already holds.
 */
export async function enqueueSendBatches(queues: Queues, digestIds: number[], batchSize: number, idPrefix = "send"): Promise<number> {
  const ids = [...new Set(digestIds)].sort((a, b) => a - b);
  let jobs = 0;
  for (let i = 0; i < ids.length; i += batchSize) {
    const batch = ids.slice(i, i + batchSize);
    const hash = createHash("sha1").update(batch.join(",")).digest("hex").slice(0, 16);
    await queues.send.add("send", { digestIds: batch }, { jobId: `${idPrefix}-${batch[0]}-${batch.at(-1)}-${hash}` });
    jobs++;
  }
  return jobs;
}

/**
 * A fresh send job for the digests of a job that failed for good. Its id is the failed
 * job's (without an earlier hand-back suffix) plus the hand-back count, so handing the
 * same job back twice adds one job.
 */
async function enqueueHandback(queues: Queues, failedJobId: string, digestIds: number[], handbacks: number): Promise<void> {
  const base = failedJobId.replace(/-handback\d+$/, "");
  await queues.send.add("send", { digestIds, handbacks }, { jobId: `${base}-handback${handbacks}` });
}

/** The UTC hour as YYYYMMDDHH, for job ids that may repeat once an hour and no more. */
const hourKey = (at: Date) => at.toISOString().slice(0, 13).replace(/[^0-9]/g, "");

export interface BootIngest {
  jobId: string;
  /** False when a boot ingest for these sources already ran (or waits, or is retrying) this UTC hour. */
  added: boolean;
}

/**
 * The ingest `npm start` asks for at boot, so a fresh install has papers without
 * waiting for the schedule. One per UTC hour *and* set of sources: restarting in the
 * same hour adds nothing, restarting with another source ingests that source.
 */
export async function enqueueBootIngest(queues: Queues, sources: string[], now = new Date()): Promise<BootIngest> {
  // BullMQ refuses ":" in job ids (file:PATH has one): the sources are URI-encoded.
  const jobId = `boot-ingest-${hourKey(now)}-${encodeURIComponent([...new Set(sources)].sort().join(","))}`;
  const earlier = await queues.ingest.getJob(jobId);
  if (earlier) {
    // A boot ingest that failed for good (say, offline) is tried again by the next start.
    if ((await earlier.getState()) !== "failed") return { jobId, added: false };
    await earlier.remove();
  }
  await queues.ingest.add("ingest", {}, { jobId });
  return { jobId, added: true };
}

/** A job as its enqueuer sees it: BullMQ's id (absent only if Redis gave none back). */
export interface Enqueued {
  jobId: string | undefined;
}

/** The job id of a subscriber email: one per kind, subscriber and signup version (BullMQ ignores a second add). */
function subscriberMailJobId(job: SubscriberMailJob): string {
  return `${job.kind}-${job.subscriberId}-v${job.version}`;
}

/** Subscriber emails, by ids, under their job ids: one add, or one addBulk (one MULTI) for several. */
async function enqueueSubscriberMail(queues: Queues, jobs: SubscriberMailJob[]): Promise<void> {
  const items = jobs.map((data) => ({ name: data.kind, data: { kind: data.kind, subscriberId: data.subscriberId, version: data.version }, opts: { jobId: subscriberMailJobId(data) } }));
  if (items.length === 1) await queues.mail.add(items[0]!.name, items[0]!.data, items[0]!.opts);
  else if (items.length > 1) await queues.mail.addBulk(items);
}

interface WaitingMail {
  jobs: SubscriberMailJob[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Subscriber emails asked for in the same turn of the event loop (concurrent signups)
 * go to Redis together, as one addBulk (one MULTI, one round trip); each caller's
 * promise resolves when Redis holds its jobs, as with a single add.
 */
function subscriberMailEnqueuer(queues: Queues): SubscriberMailQueue["enqueueSubscriberMail"] {
  let waiting: WaitingMail[] = [];
  let scheduled = false;
  async function flush(): Promise<void> {
    scheduled = false;
    const batch = waiting;
    waiting = [];
    try {
      await enqueueSubscriberMail(queues, batch.flatMap((w) => w.jobs));
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
  return (jobs) => {
    if (jobs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      waiting.push({ jobs, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  };
}

/**
 * Every enqueue, with the job-id rules in one place: the job handlers and the sweep use
 * it, http receives it as its own JobsPort (src/http/deps.ts), src/main wires it. Jobs
 * carry ids and dates only.
 */
export interface JobsProducer extends SubscriberMailQueue {
  /** An operator's ingest of one day (every configured source unless one is named). Ids are BullMQ's own: asking twice ingests twice. */
  ingest(input: { day: string; source?: string | undefined }): Promise<Enqueued>;
  /** The ingest `npm start` asks for at boot; see enqueueBootIngest. */
  bootIngest(sources: string[], now?: Date): Promise<BootIngest>;
  /** Plans who is due at `at` (default now). */
  plan(at?: Date): Promise<Enqueued>;
  /** Send batches of SEND_BATCH_SIZE digests (see enqueueSendBatches); returns how many jobs. */
  sendBatches(digestIds: number[], idPrefix?: string): Promise<number>;
  /**
   * Digests the hourly sweep found: left behind by send jobs (`sweep`) or failed while
   * the mail server was away and worth another try (`retry`). The job ids carry the
   * hour, so this hour's sweep is not mistaken for an earlier job of the same digests.
   */
  sweptBatches(digestIds: number[], reason: "sweep" | "retry", now: Date): Promise<number>;
  /** The digests of a send job that failed for good, in a fresh job (see enqueueHandback). */
  handback(failedJobId: string, digestIds: number[], handbacks: number): Promise<void>;
  /**
   * One failed digest again. A fresh job id: the batch job that failed may still be
   * kept under its own id, and BullMQ would ignore a job whose id it holds. The send
   * handler's status claim keeps it exactly-once however many jobs name the digest.
   */
  resend(digestId: number, now?: Date): Promise<Enqueued>;
  /** The queues themselves, for the admin dashboard's depths and schedules and bull-board. */
  queues(): Queue[];
}

export function createJobsProducer(queues: Queues, settings: { sendBatchSize: number }): JobsProducer {
  return {
    // Confirmation, already-subscribed and import-confirmation emails; ids only (see SubscriberMailJob).
    enqueueSubscriberMail: subscriberMailEnqueuer(queues),
    async ingest({ day, source }) {
      const job = await queues.ingest.add("ingest", source ? { day, source } : { day });
      return { jobId: job.id };
    },
    bootIngest: (sources, now) => enqueueBootIngest(queues, sources, now),
    async plan(at = new Date()) {
      const job = await queues.plan.add("plan", { at: at.toISOString() });
      return { jobId: job.id };
    },
    sendBatches: (digestIds, idPrefix) => enqueueSendBatches(queues, digestIds, settings.sendBatchSize, idPrefix),
    sweptBatches: (digestIds, reason, now) => enqueueSendBatches(queues, digestIds, settings.sendBatchSize, `${reason}-${hourKey(now)}`),
    handback: (failedJobId, digestIds, handbacks) => enqueueHandback(queues, failedJobId, digestIds, handbacks),
    async resend(digestId, now = new Date()) {
      const job = await queues.send.add("send", { digestIds: [digestId] }, { jobId: `resend-${digestId}-${now.getTime()}` });
      return { jobId: job.id };
    },
    queues: () => queues.all(),
  };
}
