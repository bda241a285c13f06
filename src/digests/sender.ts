import type { Config, RuntimeConfig } from "../config.js";
import type pg from "pg";
import type { Logger } from "../logger.js";
import { listHeaders } from "../mail/list-headers.js";
import type { Mailer } from "../mail/mailer.js";
import { createMimeWriter } from "../mail/mime.js";
import type { MailMetrics } from "../metrics.js";
import type { DigestRenderer } from "./render.js";
import { createDigestSender, type DigestSender, type SendSettings } from "./send.js";

export interface SenderDeps {
  config: RuntimeConfig;
  pool: pg.Pool;
  mailer: Mailer;
  logger: Logger;
  /** Where the sender reports which fast paths it engaged (the runtime's metrics). */
  metrics?: { mail: MailMetrics } | undefined;
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
    groupSize: config.SEND_GROUP_SIZE,
    groupIntervalMs: config.SEND_GROUP_INTERVAL_MS,
    ...overrides,
  };
}

/**
 * Wires the sender for one process around its compiled digest template (src/main/services.ts
 * builds both once). With MAIL_FAST_PATHS (the default) a digest is filled by the direct fill
 * and written by the MIME writer; with MAIL_FAST_PATHS=false by Handlebars and nodemailer composing.
 */
export function buildDigestSender(deps: SenderDeps, renderer: DigestRenderer, overrides: Partial<SendSettings> = {}): DigestSender {
  const { config } = deps;
  const fast = config.MAIL_FAST_PATHS;
  const settings = sendSettings(config, overrides);
  const mime = fast ? createMimeWriter({ from: deps.mailer.from, staticHeaders: listHeaders({ listId: settings.listId }).fixed }) : null;
  const templateFill = renderer.engine === "fill";
  deps.metrics?.mail.fastPath("template_fill", templateFill);
  if (fast && !templateFill) deps.logger.warn("digest template leaves the direct fill's subset: filled with Handlebars");
  return createDigestSender({ pool: deps.pool, mailer: deps.mailer, renderer, mime, logger: deps.logger, settings });
}
