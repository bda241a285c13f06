import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { RuntimeConfig } from "../config.js";
import type { Db } from "../db/client.js";
import { pendingSignups, subscribers } from "../db/schema.js";
import { maskEmail, type Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { compileEmail, type CompiledEmail } from "../mail/templates.js";
import type { WindowCounter } from "./counter.js";
import { links, type LinkContext } from "./links.js";
import { markConfirmationMailed } from "./pending-signups.js";
import { emailKey } from "./preferences.js";

/**
 * The emails a subscriber gets outside digests: the signup confirmation, "you are
 * already subscribed" (with a manage link), and the confirmation of an imported
 * subscriber (naming the topics they were added with). They leave through a queue:
 * a request never waits for SMTP, and an SMTP outage only delays them.
 */
export type SubscriberMailKind = "confirm" | "already-subscribed" | "import-confirm";

/**
 * One email to send, by ids only (no address, no HTML in Redis). `version` is the
 * subscriber's signup_version at the signup that asked for it: the confirmation link
 * names that signup, and the job id (kind, subscriber, version) makes enqueueing the
 * same email twice harmless.
 */
export interface SubscriberMailJob {
  kind: SubscriberMailKind;
  subscriberId: number;
  version: number;
}

/** Where the subscriber service puts its emails; src/jobs implements it on BullMQ. */
export interface SubscriberMailQueue {
  /** Resolves once the queue holds every job (durably: Redis), not when they are sent. */
  enqueueSubscriberMail(jobs: SubscriberMailJob[]): Promise<void>;
}

export type SubscriberMailOutcome = { sent: true } | { sent: false; reason: string };

export interface SubscriberMailDeps {
  db: Db;
  mailer: Mailer;
  logger: Logger;
  /** Caps these emails per address (Redis, shared by every worker). */
  counter: WindowCounter;
  config: Pick<RuntimeConfig, "PUBLIC_URL" | "POSTAL_ADDRESS" | "MAIL_DOMAIN" | "CONFIRM_EMAILS_PER_HOUR" | "TOKEN_SECRET">;
}

const CONFIRM_MAIL_WINDOW_MS = 60 * 60 * 1000;

interface ConfirmData {
  confirmUrl: string;
  postalAddress: string;
  topicList?: string;
}

/** The hourly cap's key for an address: a hash, so Redis holds no address. */
export function confirmMailKey(email: string): string {
  return `confirm-mail:${createHash("sha256").update(emailKey(email)).digest("hex").slice(0, 32)}`;
}

/**
 * Sends one queued subscriber email after re-reading state: an erased subscriber, a
 * confirmation already clicked (or cancelled by an unsubscribe), a suppressed address
 * or one over its hourly cap gets nothing. SMTP errors propagate, so the job retries.
 */
export function createSubscriberMailSender(deps: SubscriberMailDeps) {
  const { db, logger, config } = deps;
  const linkCtx: LinkContext = { publicUrl: config.PUBLIC_URL, secret: config.TOKEN_SECRET };
  // Each template is compiled by MJML once per process, on first use.
  let confirmTemplate: Promise<CompiledEmail<ConfirmData>> | undefined;
  let alreadyTemplate: Promise<CompiledEmail<{ manageUrl: string; postalAddress: string; standing: string }>> | undefined;

  return async function sendSubscriberMail(job: SubscriberMailJob, opts: { firstAttempt: boolean }): Promise<SubscriberMailOutcome> {
    const skip = (reason: string): SubscriberMailOutcome => {
      logger.info({ subscriberId: job.subscriberId, kind: job.kind, version: job.version, reason }, "subscriber email skipped");
      return { sent: false, reason };
    };
    const [s] = await db.select().from(subscribers).where(eq(subscribers.id, job.subscriberId));
    if (!s || s.email === null || s.erasedAt) return skip("subscriber erased");
    const email = s.email;

    let pendingTopics: string[] = [];
    if (job.kind === "already-subscribed") {
      if (s.status !== "active") return skip(`subscriber is ${s.status}`);
    } else {
      if (s.status !== "pending") return skip(`subscriber is ${s.status}`);
      const [pending] = await db
        .select({ topics: pendingSignups.topics })
        .from(pendingSignups)
        .where(and(eq(pendingSignups.subscriberId, s.id), eq(pendingSignups.version, job.version)));
      if (!pending) return skip("signup confirmed, cancelled or expired");
      pendingTopics = pending.topics;
    }

    // Retries of a job that passed the cap do not count again.
    if (opts.firstAttempt && (await deps.counter.hit(confirmMailKey(email), CONFIRM_MAIL_WINDOW_MS)) > config.CONFIRM_EMAILS_PER_HOUR) {
      await subscriberMailDone(db, job);
      return skip("hourly cap reached");
    }

    const postalAddress = config.POSTAL_ADDRESS;
    const messageId = `<${job.kind}-${s.id}-v${job.version}@${config.MAIL_DOMAIN}>`;
    if (job.kind === "already-subscribed") {
      alreadyTemplate ??= compileEmail("already-subscribed");
      const t = await alreadyTemplate;
      // A paused subscriber is subscribed too, but gets nothing until they resume: say so.
      const standing = s.pausedAt
        ? "Your subscription is paused: no digests come until you resume it on the page below. Nothing has changed."
        : "Your subscription is active and nothing has changed.";
      const data = { manageUrl: links.manage(linkCtx, s), postalAddress, standing };
      await deps.mailer.send({ to: email, subject: "You are already subscribed to paperboy", html: t.html(data), text: t.text(data), messageId });
    } else {
      confirmTemplate ??= compileEmail("confirm");
      const t = await confirmTemplate;
      const data: ConfirmData = {
        confirmUrl: links.confirm(linkCtx, { id: s.id, tokenVersion: job.version }),
        postalAddress,
        // An import names the topics the operator added; a signup's own form showed them already.
        ...(job.kind === "import-confirm" ? { topicList: pendingTopics.join(", ") } : {}),
      };
      await deps.mailer.send({ to: email, subject: "Confirm your paperboy subscription", html: t.html(data), text: t.text(data), messageId });
      await subscriberMailDone(db, job);
    }
    logger.info({ subscriberId: s.id, kind: job.kind, version: job.version, to: maskEmail(email) }, "subscriber email sent");
    return { sent: true };
  };
}

/**
 * This email is no longer owed (sent, or given up: a 5xx, the hourly cap), so the hourly
 * plan does not enqueue it again (see owedConfirmations). Only confirmations are tracked.
 */
export async function subscriberMailDone(db: Db, job: SubscriberMailJob): Promise<void> {
  if (job.kind !== "already-subscribed") await markConfirmationMailed(db, job.subscriberId, job.version, new Date());
}
