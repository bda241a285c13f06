import type { Config, RuntimeConfig } from "../config.js";
import type pg from "pg";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { createMimeWriter } from "../mail/mime.js";
import type { DigestRenderer } from "./render.js";
import { createDigestSender, type DigestSender, type SendSettings } from "./send.js";

export interface SenderDeps {
  config: RuntimeConfig;
  pool: pg.Pool;
  mailer: Mailer;
  logger: Logger;
}

/** Send settings from config. A batch uses its share of the SMTP pool, so concurrent jobs don't queue on it. */
export function sendSettings(config: Config, overrides: Partial<SendSettings> = {}): SendSettings {
  return {
    mailDomain: config.MAIL_DOMAIN,
    listId: config.LIST_ID,
    listUnsubscribeMailto: config.LIST_UNSUBSCRIBE_MAILTO,
    maxAttempts: config.SEND_MAX_ATTEMPTS,
    bounceLimit: config.BOUNCE_LIMIT,
    leaseMs: config.SEND_LEASE_MS,
    lanes: Math.max(1, Math.ceil(config.SMTP_POOL_SIZE / config.SEND_CONCURRENCY)),
    ratePerSecond: config.SEND_RATE_PER_SECOND,
    ...overrides,
  };
}

/** Wires the sender for one process around its compiled digest template (src/main/services.ts builds both once). */
export function buildDigestSender(deps: SenderDeps, renderer: DigestRenderer, overrides: Partial<SendSettings> = {}): DigestSender {
  const { config } = deps;
  const mime = createMimeWriter({
    from: deps.mailer.from,
    staticHeaders: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": `paperboy <${config.LIST_ID}>` },
  });
  return createDigestSender({ pool: deps.pool, mailer: deps.mailer, renderer, mime, logger: deps.logger, settings: sendSettings(config, overrides) });
}
