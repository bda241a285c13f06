import type pg from "pg";
import { claimableDigestIds } from "../digests/send.js";
import { requeueRetryableFailed } from "../digests/sweep.js";
import type { JobsProducer } from "./producer.js";

export interface SweepOptions {
  /** A queued digest untouched this long is enqueued again. */
  staleMs: number;
  leaseMs: number;
  /** SEND_MAX_ATTEMPTS: failed digests below it (the server was busy, not the digest bad) are tried again. */
  maxAttempts: number;
  /** Digests read per page of the scan (the producer cuts its own send batches). */
  batchSize: number;
  now: Date;
}

/**
 * Enqueues the digests no send job will send any more, so none is
 * lost to a job that failed for good, and gives digests failed after a long mail-server
 * outage another try within their period (see requeueRetryableFailed), through the
 * producer (which gives the jobs this hour's ids); a digest enqueued twice is still sent
 * once, because sending claims it first. Returns how many were enqueued.
 */
export async function sweepStaleDigests(pool: pg.Pool, jobs: Pick<JobsProducer, "sweptBatches">, opts: SweepOptions): Promise<number> {
  const retried = await requeueRetryableFailed(pool, { maxAttempts: opts.maxAttempts });
  if (retried.length > 0) await jobs.sweptBatches(retried, "retry", opts.now);
  let last = 0;
  let swept = retried.length;
  for (;;) {
    // Still queued though nothing touched them for staleMs (their send job failed for good:
    // a database outage longer than its retries, a job an operator removed), or left
    // `sending` by a dead worker past the lease.
    const ids = await claimableDigestIds(pool, { afterId: last, limit: opts.batchSize, leaseMs: opts.leaseMs, queuedIdleMs: opts.staleMs });
    if (ids.length === 0) return swept;
    await jobs.sweptBatches(ids, "sweep", opts.now);
    swept += ids.length;
    last = ids.at(-1)!;
  }
}
