import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type pg from "pg";
import { recordEmailEvent, type EventSettings } from "../../digests/email-events.js";
import type { Logger } from "../../logger.js";
import { SEEN_TTL_SECONDS, type ProviderEvent } from "./common.js";

export interface WebhookOutcome {
  /** Bounces and complaints in the payload (other event kinds are ignored). */
  events: number;
  /** Of those, the ones that matched a subscriber (by our Message-ID or the address). */
  matched: number;
  /** The same post was recorded before (a provider retry): nothing was recorded again. */
  duplicate?: boolean;
}

/** Webhook posts already recorded, so a provider's retry of one we took does not count twice. */
export interface SeenWebhookPosts {
  has(key: string): Promise<boolean>;
  add(key: string): Promise<void>;
}


export function redisSeenWebhookPosts(redis: Redis, prefix: string): SeenWebhookPosts {
  return {
    has: async (key) => (await redis.exists(`${prefix}:webhook-seen:${key}`)) === 1,
    add: async (key) => {
      await redis.set(`${prefix}:webhook-seen:${key}`, "1", "EX", SEEN_TTL_SECONDS);
    },
  };
}

/** A post's identity: the provider and the exact bytes it signed (a retry repeats them). */
export const webhookPostKey = (source: string, raw: Buffer) => `${source}:${createHash("sha256").update(raw).digest("base64url")}`;

export interface RecordDeps {
  pool: pg.Pool;
  events: EventSettings;
  seen: SeenWebhookPosts;
  logger: Logger;
}

/**
 * Records a provider's events one by one, each in its own transaction (a batch from
 * SendGrid may hold hundreds). Unknown Message-IDs and addresses change nothing and
 * still count as received, so the provider stops retrying. A post is remembered
 * only after all its events are recorded, so one that failed half-way is retried whole
 * (recording a matched event twice only repeats the same suppression). The memory is
 * best-effort: without Redis, a retry is recorded again rather than lost.
 */
export async function recordProviderEvents(
  deps: RecordDeps,
  source: string,
  raw: Buffer,
  events: ProviderEvent[],
  /**
   * What names the post when the provider's signature does not cover the bytes
   * (Mailgun: its token). Remembered even when no event counted, so the signature
   * cannot be used again for a body of someone else's choosing.
   */
  signedPost?: string,
): Promise<WebhookOutcome> {
  const key = signedPost ? `${source}:signature:${signedPost}` : webhookPostKey(source, raw);
  const seen = await deps.seen.has(key).catch((err: unknown) => {
    deps.logger.warn({ err, provider: source }, "webhook: cannot check for a repeated post");
    return false;
  });
  if (seen) return { events: events.length, matched: 0, duplicate: true };
  let matched = 0;
  for (const ev of events) {
    const outcome = await recordEmailEvent(deps.pool, deps.events, { ...ev, source });
    if (outcome.matched) matched++;
  }
  if (events.length > 0 || signedPost) {
    await deps.seen.add(key).catch((err: unknown) => deps.logger.warn({ err, provider: source }, "webhook: cannot remember the post"));
  }
  return { events: events.length, matched };
}
