import type { Redis } from "ioredis";

/** Counts events per key in a fixed window; the consumer decides what too many means. */
export interface WindowCounter {
  /** Records one event for `key` and returns how many happened in its current window. */
  hit(key: string, windowMs: number): Promise<number>;
}

/**
 * One command, so that concurrent hits share the client's auto-pipelined writes (a
 * MULTI cannot be pipelined with other callers' commands); the first hit of a window
 * starts its expiry in the same atomic step.
 */
const HIT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

type WithHit = Redis & { paperboyWindowHit(key: string, windowMs: number): Promise<number> };

/** A Redis-backed counter under `prefix`, shared by every API process. */
export function createRedisWindowCounter(redis: Redis, prefix: string): WindowCounter {
  if (!("paperboyWindowHit" in redis)) redis.defineCommand("paperboyWindowHit", { numberOfKeys: 1, lua: HIT });
  const r = redis as WithHit;
  return {
    async hit(key, windowMs) {
      return Number(await r.paperboyWindowHit(`${prefix}:${key}`, windowMs));
    },
  };
}
