import type { RuntimeConfig } from "../config.js";
import { createDigestRenderer, type DigestRenderer } from "../digests/render.js";
import type { DigestSender, SendSettings } from "../digests/send.js";
import { buildDigestSender } from "../digests/sender.js";
import { createTestDigestSender } from "../ops/test-digest.js";
import type { TestDigestSender } from "../http/deps.js";
import { createRedisWindowCounter, type WindowCounter } from "../subscribers/counter.js";
import { createSubscriberService, type SubscriberService } from "../subscribers/service.js";
import type { Runtime } from "./runtime.js";

/** The services every entry point hands down: built here, once per process, and nowhere else. */
export interface Services {
  subscribers: SubscriberService;
  /** Signups per address, in Redis (shared by every API process; the mail worker caps emails with the same prefix). */
  signupCounter: WindowCounter;
  /** The digest template compiled once (MJML is the slow part): the sender, the test digest and the browser view fill it. */
  renderer: DigestRenderer;
  sender: DigestSender;
  testDigest: TestDigestSender;
}

export interface ServiceOptions {
  /** Send settings that differ from config (the `send` command gives one batch the whole SMTP pool). */
  send?: Partial<SendSettings> | undefined;
}

/** The digest template compiled for this config: the direct fill, or Handlebars with MAIL_FAST_PATHS=false. */
export function buildDigestRenderer(config: RuntimeConfig): Promise<DigestRenderer> {
  return createDigestRenderer({ publicUrl: config.PUBLIC_URL, secret: config.TOKEN_SECRET, postalAddress: config.POSTAL_ADDRESS }, { fastPaths: config.MAIL_FAST_PATHS });
}

export async function buildServices(rt: Runtime, opts: ServiceOptions = {}): Promise<Services> {
  const { config } = rt;
  const signupCounter = createRedisWindowCounter(rt.redis, `${config.QUEUE_PREFIX}:subscribers`);
  const subscribers = createSubscriberService({ db: rt.db, pool: rt.pool, mail: rt.jobs, logger: rt.logger, config });
  const renderer = await buildDigestRenderer(config);
  const sender = buildDigestSender(rt, renderer, opts.send);
  const testDigest = createTestDigestSender({ db: rt.db, pool: rt.pool, mailer: rt.mailer, renderer, mailDomain: config.MAIL_DOMAIN });
  return { subscribers, signupCounter, renderer, sender, testDigest };
}
