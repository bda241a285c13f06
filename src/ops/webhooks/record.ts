import type pg from "pg";
import { recordEmailEvent } from "../../digests/email-events.js";
import type { ProviderEvent } from "./common.js";

export interface WebhookOutcome {
  /** Bounces and complaints in the payload (other event kinds are ignored). */
  events: number;
  /** Of those, the ones that matched a subscriber (by our Message-ID or the address). */
  matched: number;
}

/**
 * Records a provider's events one by one, each in its own transaction (a batch from
 * SendGrid may hold hundreds). Unknown Message-IDs and addresses change nothing and
 * still count as received, so the provider stops retrying.
 */
export async function recordProviderEvents(pool: pg.Pool, mailDomain: string, source: string, events: ProviderEvent[]): Promise<WebhookOutcome> {
  let matched = 0;
  for (const ev of events) {
    const outcome = await recordEmailEvent(pool, mailDomain, { ...ev, source });
    if (outcome.matched) matched++;
  }
  return { events: events.length, matched };
}
