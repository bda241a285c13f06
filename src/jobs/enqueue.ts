import { createHash } from "node:crypto";
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
export async function enqueueHandback(queues: Queues, failedJobId: string, digestIds: number[], handbacks: number): Promise<void> {
  const base = failedJobId.replace(/-handback\d+$/, "");
  await queues.send.add("send", { digestIds, handbacks }, { jobId: `${base}-handback${handbacks}` });
}
