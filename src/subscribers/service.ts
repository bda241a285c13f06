import { createHash } from "node:crypto";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Db, Queryable } from "../db/client.js";
import { digests, emailEvents, subscribers, subscriberTopics, votes } from "../db/schema.js";
import { AppError } from "../errors.js";
import { maskEmail, type Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { compileEmail, type CompiledEmail } from "../mail/templates.js";
import type { WindowCounter } from "./counter.js";
import { links, tokenFor, type LinkContext } from "./links.js";
import { assertTimezoneKnown, emailKey, type PreferencesPatch, type SignupInput } from "./preferences.js";
import { verifyToken, type TokenPurpose } from "./tokens.js";
import { votesOf } from "./votes.js";
import { assertTopicsSearchable, setSubscriberTopics, subscriberTopicLabels } from "./topics.js";

export type Subscriber = typeof subscribers.$inferSelect;
export type UnsubscribeSource = "one-click" | "link" | "api";

export interface SubscriberServiceDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, "PUBLIC_URL" | "POSTAL_ADDRESS" | "CONFIRM_EMAILS_PER_HOUR"> & { TOKEN_SECRET: string };
  logger: Logger;
  /** Caps confirmation-type emails per address (Redis in production, shared by every API process). */
  counter: WindowCounter;
}

/** What a subscriber chose, as the API and the manage page show it. */
export interface Preferences {
  email: string | null;
  status: Subscriber["status"];
  topics: string[];
  frequency: Subscriber["frequency"];
  weekday: number;
  sendHour: number;
  timezone: string;
  maxPapers: number;
  sendWhenEmpty: boolean;
  /** With topics: the top trending papers are added too. No topics: the digest is all trending. */
  addTrending: boolean;
  paused: boolean;
  pausedAt: string | null;
  confirmedAt: string | null;
}

/** Everything paperboy holds about one subscriber (GDPR access request). */
export interface SubscriberExport {
  preferences: Preferences;
  consent: { signedUpAt: string | null; ip: string | null; userAgent: string | null; confirmedAt: string | null; confirmIp: string | null };
  createdAt: string;
  unsubscribedAt: string | null;
  digests: { period: string; status: string; paperCount: number; sentAt: string | null }[];
  events: { type: string; source: string; at: string }[];
  /** Every "more/less like this" vote, newest first. */
  votes: { arxivId: string; title: string; vote: "more" | "less"; at: string }[];
}

export type PreferenceField = keyof PreferencesPatch;

export interface ConsentRecord {
  ip: string | null;
  userAgent: string | null;
}

const CONFIRM_MAIL_WINDOW_MS = 60 * 60 * 1000;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

type Mail = { kind: "confirm" | "already-subscribed"; subscriber: Subscriber };

export function createSubscriberService(deps: SubscriberServiceDeps) {
  const { db, logger } = deps;
  const linkCtx: LinkContext = { publicUrl: deps.config.PUBLIC_URL, secret: deps.config.TOKEN_SECRET };

  // Each template is compiled by MJML once per service (one per app), on first use.
  let confirmTemplate: Promise<CompiledEmail<{ confirmUrl: string; postalAddress: string }>> | undefined;
  let alreadyTemplate: Promise<CompiledEmail<{ manageUrl: string; postalAddress: string }>> | undefined;

  async function preferencesOf(q: Queryable, s: Subscriber): Promise<Preferences> {
    return {
      email: s.email,
      status: s.status,
      topics: await subscriberTopicLabels(q, s.id),
      frequency: s.frequency,
      weekday: s.weekday,
      sendHour: s.sendHour,
      timezone: s.timezone,
      maxPapers: s.maxPapers,
      sendWhenEmpty: s.sendWhenEmpty,
      addTrending: s.addTrending,
      paused: s.pausedAt !== null,
      pausedAt: iso(s.pausedAt),
      confirmedAt: iso(s.confirmedAt),
    };
  }

  async function byId(q: Queryable, id: number, lock = false): Promise<Subscriber | undefined> {
    const query = q.select().from(subscribers).where(eq(subscribers.id, id));
    const [row] = lock ? await query.for("update") : await query;
    return row;
  }

  /** Checks a token and that it still belongs to a live subscriber; changes nothing. */
  async function resolve(q: Queryable, token: string, purpose: TokenPurpose, lock = false): Promise<Subscriber> {
    const claims = verifyToken(deps.config.TOKEN_SECRET, token, purpose);
    const s = await byId(q, claims.subscriberId, lock);
    // Revoked (version bumped), erased or deleted: the same answer as a forged token.
    if (!s || s.erasedAt || s.email === null || s.tokenVersion !== claims.version) throw new AppError("INVALID_TOKEN");
    return s;
  }

  async function deliver(mail: Mail): Promise<void> {
    const { subscriber: s } = mail;
    if (!s.email) return;
    const key = `confirm-mail:${createHash("sha256").update(emailKey(s.email)).digest("hex").slice(0, 32)}`;
    try {
      const count = await deps.counter.hit(key, CONFIRM_MAIL_WINDOW_MS);
      if (count > deps.config.CONFIRM_EMAILS_PER_HOUR) {
        logger.info({ subscriberId: s.id, kind: mail.kind }, "signup email skipped: hourly cap reached");
        return;
      }
      const postalAddress = deps.config.POSTAL_ADDRESS;
      if (mail.kind === "confirm") {
        confirmTemplate ??= compileEmail("confirm");
        const t = await confirmTemplate;
        const data = { confirmUrl: links.confirm(linkCtx, s), postalAddress };
        await deps.mailer.send({ to: s.email, subject: "Confirm your paperboy subscription", html: t.html(data), text: t.text(data) });
      } else {
        alreadyTemplate ??= compileEmail("already-subscribed");
        const t = await alreadyTemplate;
        const data = { manageUrl: links.manage(linkCtx, s), postalAddress };
        await deps.mailer.send({ to: s.email, subject: "You are already subscribed to paperboy", html: t.html(data), text: t.text(data) });
      }
      logger.info({ subscriberId: s.id, kind: mail.kind, to: maskEmail(s.email) }, "signup email sent");
    } catch (err) {
      // The person sees the same page either way; the failure is ours to notice in the logs.
      logger.error({ err, subscriberId: s.id, kind: mail.kind }, "signup email failed");
    }
  }

  async function validatePreferences(q: Queryable, p: { topics?: string[] | undefined; timezone?: string | undefined }) {
    if (p.timezone !== undefined) await assertTimezoneKnown(q, p.timezone);
    if (p.topics !== undefined) await assertTopicsSearchable(q, p.topics);
  }

  async function recordUnsubscribe(q: Queryable, subscriberId: number, source: UnsubscribeSource) {
    await q.insert(emailEvents).values({ subscriberId, type: "unsubscribe", permanent: true, source });
  }

  return {
    links: {
      manage: (s: Subscriber) => links.manage(linkCtx, s),
      unsubscribe: (s: Subscriber) => links.unsubscribe(linkCtx, s),
    },
    /** A fresh token for a form on a page the subscriber reached with another valid token. */
    tokenFor: (s: Subscriber, purpose: TokenPurpose) => tokenFor(linkCtx, s, purpose),

    /**
     * Starts (or restarts) double opt-in. The caller answers the same whatever
     * happened here: which branch ran is never visible outside this function.
     */
    async signup(input: SignupInput, consent: ConsentRecord, now = new Date()): Promise<void> {
      const mail = await db.transaction(async (tx): Promise<Mail | undefined> => {
        await validatePreferences(tx, input);
        const prefs = {
          frequency: input.frequency,
          weekday: input.weekday,
          sendHour: input.sendHour,
          timezone: input.timezone,
          maxPapers: input.maxPapers,
          sendWhenEmpty: input.sendWhenEmpty,
          addTrending: input.addTrending,
        };
        const consentFields = { consentAt: now, consentIp: consent.ip, consentUserAgent: consent.userAgent?.slice(0, 512) ?? null };
        // Serialises concurrent signups for one address (the unique index is on lower(email)).
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${emailKey(input.email)}))`);
        const [existing] = await tx
          .select()
          .from(subscribers)
          .where(sql`lower(${subscribers.email}) = ${emailKey(input.email)}`)
          .for("update");
        if (!existing) {
          const [created] = await tx
            .insert(subscribers)
            .values({ email: input.email, status: "pending", ...prefs, ...consentFields })
            .returning();
          if (!created) throw new Error("insert returned no subscriber");
          await setSubscriberTopics(tx, created.id, input.topics);
          return { kind: "confirm", subscriber: created };
        }
        switch (existing.status) {
          case "active":
            return { kind: "already-subscribed", subscriber: existing };
          case "pending":
          case "unsubscribed": {
            // Nothing is sent before the new confirmation, so the latest choices win.
            const [updated] = await tx
              .update(subscribers)
              .set({ status: "pending", ...prefs, ...consentFields, pausedAt: null, updatedAt: now })
              .where(eq(subscribers.id, existing.id))
              .returning();
            await setSubscriberTopics(tx, existing.id, input.topics);
            return updated ? { kind: "confirm", subscriber: updated } : undefined;
          }
          default:
            // Bounced or complained addresses are suppressed: we do not mail them again from a web form.
            logger.info({ subscriberId: existing.id, status: existing.status }, "signup for a suppressed address ignored");
            return undefined;
        }
      });
      if (mail) await deliver(mail);
    },

    /** For GET pages: is this token good? Changes nothing (mail scanners prefetch links). */
    async check(token: string, purpose: TokenPurpose): Promise<Subscriber> {
      return resolve(db, token, purpose);
    },

    async confirm(token: string, ip: string | null, now = new Date()): Promise<{ subscriber: Subscriber; topics: string[] }> {
      return db.transaction(async (tx) => {
        const s = await resolve(tx, token, "confirm", true);
        if (s.status === "active") return { subscriber: s, topics: await subscriberTopicLabels(tx, s.id) };
        if (s.status !== "pending") {
          throw new AppError("INVALID_TOKEN", "This subscription was cancelled after this link was sent. Sign up again to get a fresh confirmation link.");
        }
        const [updated] = await tx
          .update(subscribers)
          .set({ status: "active", confirmedAt: now, confirmIp: ip, unsubscribedAt: null, updatedAt: now })
          .where(eq(subscribers.id, s.id))
          .returning();
        return { subscriber: updated ?? s, topics: await subscriberTopicLabels(tx, s.id) };
      });
    },

    async preferences(s: Subscriber): Promise<Preferences> {
      return preferencesOf(db, s);
    },

    /** Applies a validated patch in one transaction; returns the result and which fields really changed. */
    async update(token: string, patch: PreferencesPatch, now = new Date()): Promise<{ subscriber: Subscriber; preferences: Preferences; changed: PreferenceField[] }> {
      return db.transaction(async (tx) => {
        const s = await resolve(tx, token, "manage", true);
        await validatePreferences(tx, patch);
        const before = await preferencesOf(tx, s);
        const changed: PreferenceField[] = [];
        const set: Partial<typeof subscribers.$inferInsert> = {};
        const scalar = ["frequency", "weekday", "sendHour", "timezone", "maxPapers", "sendWhenEmpty", "addTrending"] as const;
        for (const key of scalar) {
          const value = patch[key];
          if (value !== undefined && value !== before[key]) {
            changed.push(key);
            Object.assign(set, { [key]: value });
          }
        }
        if (patch.paused !== undefined && patch.paused !== before.paused) {
          changed.push("paused");
          set.pausedAt = patch.paused ? now : null;
        }
        if (patch.topics !== undefined) {
          await setSubscriberTopics(tx, s.id, patch.topics);
          const after = await subscriberTopicLabels(tx, s.id);
          if (after.join("\n") !== before.topics.join("\n")) changed.push("topics");
        }
        let current = s;
        if (Object.keys(set).length > 0) {
          const [updated] = await tx
            .update(subscribers)
            .set({ ...set, updatedAt: now })
            .where(eq(subscribers.id, s.id))
            .returning();
          if (updated) current = updated;
        }
        return { subscriber: current, preferences: await preferencesOf(tx, current), changed };
      });
    },

    /**
     * Stops every further email at once (the sender re-checks status before each send).
     * Idempotent: a second call changes nothing and records nothing.
     */
    async unsubscribe(token: string, purpose: "unsubscribe" | "manage", source: UnsubscribeSource, now = new Date()): Promise<Subscriber> {
      return db.transaction(async (tx) => {
        const s = await resolve(tx, token, purpose, true);
        if (s.status !== "pending" && s.status !== "active") return s;
        const [updated] = await tx
          .update(subscribers)
          .set({ status: "unsubscribed", unsubscribedAt: now, updatedAt: now })
          .where(and(eq(subscribers.id, s.id), inArray(subscribers.status, ["pending", "active"])))
          .returning();
        if (updated) await recordUnsubscribe(tx, s.id, source);
        return updated ?? s;
      });
    },

    /**
     * Undoes an unsubscribe from the page that did it. A subscriber who had
     * confirmed becomes active again; one who never did gets a fresh confirmation.
     */
    async resubscribe(token: string, now = new Date()): Promise<{ subscriber: Subscriber; topics: string[]; needsConfirmation: boolean }> {
      const result = await db.transaction(async (tx) => {
        const s = await resolve(tx, token, "unsubscribe", true);
        if (s.status !== "unsubscribed") return { subscriber: s, needsConfirmation: s.status === "pending" };
        const needsConfirmation = s.confirmedAt === null;
        const [updated] = await tx
          .update(subscribers)
          .set({ status: needsConfirmation ? "pending" : "active", unsubscribedAt: null, updatedAt: now })
          .where(eq(subscribers.id, s.id))
          .returning();
        return { subscriber: updated ?? s, needsConfirmation };
      });
      if (result.needsConfirmation && result.subscriber.status === "pending") await deliver({ kind: "confirm", subscriber: result.subscriber });
      return { ...result, topics: await subscriberTopicLabels(db, result.subscriber.id) };
    },

    async exportData(s: Subscriber): Promise<SubscriberExport> {
      const [prefs, sent, events, voted] = await Promise.all([
        preferencesOf(db, s),
        db
          .select({ period: digests.period, status: digests.status, paperCount: digests.paperCount, sentAt: digests.sentAt })
          .from(digests)
          .where(eq(digests.subscriberId, s.id))
          .orderBy(desc(digests.period)),
        db
          .select({ type: emailEvents.type, source: emailEvents.source, at: emailEvents.createdAt })
          .from(emailEvents)
          .where(eq(emailEvents.subscriberId, s.id))
          .orderBy(emailEvents.id),
        votesOf(db, s.id, null),
      ]);
      return {
        preferences: prefs,
        consent: { signedUpAt: iso(s.consentAt), ip: s.consentIp, userAgent: s.consentUserAgent, confirmedAt: iso(s.confirmedAt), confirmIp: s.confirmIp },
        createdAt: s.createdAt.toISOString(),
        unsubscribedAt: iso(s.unsubscribedAt),
        digests: sent.map((d) => ({ period: d.period, status: d.status, paperCount: d.paperCount, sentAt: iso(d.sentAt) })),
        events: events.map((e) => ({ type: e.type, source: e.source, at: e.at.toISOString() })),
        votes: voted.map((v) => ({ arxivId: v.paper.arxivId, title: v.paper.title, vote: v.vote > 0 ? ("more" as const) : ("less" as const), at: v.votedAt.toISOString() })),
      };
    },

    /**
     * Erasure: the address and consent details are gone and every link is revoked;
     * the row and its digests stay as anonymous counts.
     */
    async erase(token: string, now = new Date()): Promise<void> {
      await db.transaction(async (tx) => {
        const s = await resolve(tx, token, "manage", true);
        if (s.status === "pending" || s.status === "active") await recordUnsubscribe(tx, s.id, "api");
        await tx.delete(subscriberTopics).where(eq(subscriberTopics.subscriberId, s.id));
        // Votes say what a person reads: personal data, gone with the address.
        await tx.delete(votes).where(eq(votes.subscriberId, s.id));
        await tx
          .update(subscribers)
          .set({
            email: null,
            erasedAt: now,
            status: "unsubscribed",
            unsubscribedAt: s.unsubscribedAt ?? now,
            tokenVersion: sql`${subscribers.tokenVersion} + 1`,
            consentIp: null,
            consentUserAgent: null,
            confirmIp: null,
            updatedAt: now,
          })
          .where(eq(subscribers.id, s.id));
      });
    },
  };
}

export type SubscriberService = ReturnType<typeof createSubscriberService>;
