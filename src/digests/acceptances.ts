/**
 * Acceptances recorded in groups: the digests an SMTP server accepted are marked `sent`
 * by one statement per group (`group` of them, or whatever `intervalMs` collected,
 * whichever comes first) instead of one commit per email.
 *
 * The crash policy rests on one number: how many accepted digests may be unrecorded at
 * any moment, because those are the ones a killed worker leaves in `sending` and a
 * later claim sends again (same Message-ID). `limit` bounds it, counting the emails in
 * an SMTP transaction right now: reserve() before sending waits while the unrecorded
 * ones and those in transit would exceed it.
 */

export interface AcceptanceRecorderOptions {
  /** Flush once this many are waiting. */
  group: number;
  /** Flush a smaller group once its first acceptance has waited this long. */
  intervalMs: number;
  /** Accepted-but-unrecorded plus in transit never exceeds this. */
  limit: number;
  /** Records the ids as sent; rejects only after its own retries gave up. */
  write: (ids: number[]) => Promise<void>;
}

export interface AcceptanceRecorder {
  /** Waits for room for one more email in transit; throws once a write has failed for good. */
  reserve(): Promise<void>;
  /** The reserved email was accepted: it joins the next group. */
  accepted(id: number): void;
  /** The reserved email was not accepted (or not sent): its room is free again. */
  release(): void;
  /** Writes everything accepted so far; throws if a write failed for good. */
  drain(): Promise<void>;
}

export function createAcceptanceRecorder(opts: AcceptanceRecorderOptions): AcceptanceRecorder {
  const group = Math.max(1, opts.group);
  const limit = Math.max(1, opts.limit);
  let pending: number[] = [];
  let writing = 0;
  let inTransit = 0;
  let flight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failure: Error | null = null;
  /** Reservations waiting for room, woken after each write. */
  let waiters: (() => void)[] = [];

  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  /** Starts a write of everything pending unless one is running (it starts the next itself). */
  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (flight || pending.length === 0 || failure) return;
    const ids = pending;
    pending = [];
    writing = ids.length;
    flight = opts
      .write(ids)
      .catch((err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        writing = 0;
        flight = null;
        if (pending.length >= group) flush();
        else if (pending.length > 0 && !timer) timer = setTimeout(flush, opts.intervalMs);
        wake();
      });
  };

  const unrecorded = () => pending.length + writing + inTransit;

  return {
    async reserve() {
      for (;;) {
        if (failure) throw failure;
        if (unrecorded() < limit) break;
        // Full: what is waiting must be written before another email may go out.
        flush();
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      inTransit++;
    },
    accepted(id) {
      inTransit--;
      pending.push(id);
      if (pending.length >= group) flush();
      else if (!timer && !flight) timer = setTimeout(flush, opts.intervalMs);
    },
    release() {
      inTransit--;
      wake();
    },
    async drain() {
      while (pending.length > 0 || flight) {
        if (failure) break;
        flush();
        await flight;
      }
      if (failure) throw failure;
    },
  };
}
