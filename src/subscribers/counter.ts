import type { Redis } from "ioredis";

/** Counts events per key in a fixed window; the consumer decides what too many means. */
export interface WindowCounter {
  /** Records one event for `key` and returns how many happened in its current window. */
  hit(key: string, windowMs: number): Promise<number>;
}

/** A Redis-backed counter under `prefix`, shared by every API process. */
export function createRedisWindowCounter(redis: Redis, prefix: string): WindowCounter {
  return {
    async hit(key, windowMs) {
      const full = `${prefix}:${key}`;
      const [[, count] = [null, 0]] = (await redis.multi().incr(full).pexpire(full, windowMs, "NX").exec()) ?? [];
      return Number(count);
    },
  };
}
