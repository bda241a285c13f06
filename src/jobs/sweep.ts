import type pg from "pg";
import { requeueRetryableFailed, staleDigestIds } from "../digests/sweep.js";
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
 * Enqueues the digests no send job will send any more (see staleDigestIds), so none is
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
    const ids = await staleDigestIds(pool, last, opts.batchSize, opts);
    if (ids.length === 0) return swept;
    await enqueueSendBatches(queues, ids, opts.batchSize, `sweep-${hour}`);
    swept += ids.length;
    last = ids.at(-1)!;
  }
}
