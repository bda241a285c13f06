import type pg from "pg";
import { claimableDigestIds } from "../digests/send.js";
import { requeueRetryableFailed } from "../digests/sweep.js";
import { enqueueSendBatches } from "./producer.js";
import type { Queues } from "./queues.js";

export interface SweepOptions {
  /** A queued digest untouched this long is enqueued again. */
  staleMs: number;
  leaseMs: number;
  /** SEND_MAX_ATTEMPTS: failed digests below it (the server was busy, not the digest bad) are tried again. */
  maxAttempts: number;
  batchSize: number;
  now: Date;
}

/**
 * Enqueues the digests no send job will send any more, so none is
 * lost to a job that failed for good, and gives digests failed after a long mail-server
 * outage another try within their period (see requeueRetryableFailed). The job ids carry the hour, so this hour's sweep
 * is not mistaken for an earlier job of the same digests; a digest enqueued twice is
 * still sent once, because sending claims it first. Returns how many were enqueued.
 */
export async function sweepStaleDigests(pool: pg.Pool, queues: Queues, opts: SweepOptions): Promise<number> {
  const hour = opts.now.toISOString().slice(0, 13).replace(/[^0-9]/g, "");
  const retried = await requeueRetryableFailed(pool, { maxAttempts: opts.maxAttempts });
  if (retried.length > 0) await enqueueSendBatches(queues, retried, opts.batchSize, `retry-${hour}`);
  let last = 0;
  let swept = retried.length;
  for (;;) {
    // Still queued though nothing touched them for staleMs (their send job failed for good:
    // a database outage longer than its retries, a job an operator removed), or left
    // `sending` by a dead worker past the lease.
    const ids = await claimableDigestIds(pool, { afterId: last, limit: opts.batchSize, leaseMs: opts.leaseMs, queuedIdleMs: opts.staleMs });
    if (ids.length === 0) return swept;
    await enqueueSendBatches(queues, ids, opts.batchSize, `sweep-${hour}`);
    swept += ids.length;
    last = ids.at(-1)!;
  }
}
