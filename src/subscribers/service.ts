import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { RuntimeConfig } from "../config.js";
import type { Db, Queryable } from "../db/client.js";
import { digests, emailEvents, pendingSignups, subscribers, subscriberTopics, votes } from "../db/schema.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { links, tokenFor, type LinkContext } from "./links.js";
import type { SubscriberMailQueue } from "./mail.js";
import { applyPendingSignup, createSignupRecorder, pendingSignup, renewPendingSignup, type SqlClient } from "./pending-signups.js";
import { assertTimezoneKnown, type PreferencesPatch, type SignupInput } from "./preferences.js";
import { verifyToken, type TokenPurpose } from "./tokens.js";
import { votesOf } from "./votes.js";
import { assertTopicsSearchable, setSubscriberTopics, subscriberTopicLabels } from "./topics.js";

export type Subscriber = typeof subscribers.$inferSelect;
export type UnsubscribeSource = "one-click" | "link" | "api";

export interface SubscriberServiceDeps {
  db: Db;
  /** The pool behind db, for the signup statement (prepared by name). */
  pool: SqlClient;
  /** Confirmation and "already subscribed" emails go on this queue; a worker sends them. */
  mail: SubscriberMailQueue;
  config: Pick<RuntimeConfig, "PUBLIC_URL" | "TOKEN_SECRET">;
  logger: Logger;
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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function createSubscriberService(deps: SubscriberServiceDeps) {
  const { db } = deps;
  const linkCtx: LinkContext = { publicUrl: deps.config.PUBLIC_URL, secret: deps.config.TOKEN_SECRET };
  const recordSignup = createSignupRecorder(deps.pool);

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

  /**
   * Checks a token and that it still belongs to a live subscriber; changes nothing.
   * A confirm token's version names the signup it confirms (see confirm()), every
   * other token's the subscriber's token_version.
   */
  async function resolveWithClaims(q: Queryable, token: string, purpose: TokenPurpose, lock = false) {
    const claims = verifyToken(deps.config.TOKEN_SECRET, token, purpose);
    const s = await byId(q, claims.subscriberId, lock);
    // Revoked (version bumped), erased or deleted: the same answer as a forged token.
    if (!s || s.erasedAt || s.email === null || (purpose !== "confirm" && s.tokenVersion !== claims.version)) throw new AppError("INVALID_TOKEN");
    return { s, claims };
  }

  async function resolve(q: Queryable, token: string, purpose: TokenPurpose, lock = false): Promise<Subscriber> {
    return (await resolveWithClaims(q, token, purpose, lock)).s;
  }

  /** The confirm page's check: the link is good and there is something (or nothing more) to confirm. */
  async function checkConfirm(token: string): Promise<Subscriber> {
    const { s, claims } = await resolveWithClaims(db, token, "confirm");
    if (s.status === "active" || (await pendingSignup(db, s.id, claims.version))) return s;
    if (s.status === "unsubscribed") return s; // the POST explains that this signup was cancelled
    throw new AppError("INVALID_TOKEN");
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
     * Starts (or restarts) double opt-in. Whatever the address's state (new, pending,
     * active, unsubscribed, suppressed, over its email cap), this does the same work:
     * one statement records the signup and one job goes on the mail queue; the worker
     * decides whether an email goes out. So neither the answer nor its timing says
     * which branch ran. An existing subscriber's choices stay as they are until the
     * confirmation link of this signup is clicked.
     */
    async signup(input: SignupInput, consent: ConsentRecord, now = new Date()): Promise<void> {
      // Topics are checked by the statement itself; the time zone needs Postgres only for rare aliases.
      await assertTimezoneKnown(db, input.timezone);
      const recorded = await recordSignup(input, { at: now, ip: consent.ip, userAgent: consent.userAgent?.slice(0, 512) ?? null });
      // Suppressed addresses get a confirm job too (the worker finds no pending signup and skips it).
      await deps.mail.enqueueSubscriberMail([
        { kind: recorded.status === "active" ? "already-subscribed" : "confirm", subscriberId: recorded.subscriberId, version: recorded.version },
      ]);
    },

    /** For GET pages: is this token good? Changes nothing (mail scanners prefetch links). */
    async check(token: string, purpose: TokenPurpose): Promise<Subscriber> {
      if (purpose === "confirm") return checkConfirm(token);
      return resolve(db, token, purpose);
    },

    /**
     * Applies the signup this link names (its topics, schedule and consent record) and
     * activates the subscriber; every other pending signup of the address is dropped.
     * A second click, or a click on an older link once active, changes nothing.
     */
    async confirm(token: string, ip: string | null, now = new Date()): Promise<{ subscriber: Subscriber; topics: string[] }> {
      return db.transaction(async (tx) => {
        const { s, claims } = await resolveWithClaims(tx, token, "confirm", true);
        if (s.status === "active") return { subscriber: s, topics: await subscriberTopicLabels(tx, s.id) };
        const pending = s.status === "pending" ? await pendingSignup(tx, s.id, claims.version) : undefined;
        if (!pending) {
          if (s.status === "unsubscribed") {
            throw new AppError("INVALID_TOKEN", "This subscription was cancelled after this link was sent. Sign up again to get a fresh confirmation link.");
          }
          throw new AppError("INVALID_TOKEN");
        }
        const updated = await applyPendingSignup(tx, s.id, pending, { at: now, ip });
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
        if (updated) {
          await recordUnsubscribe(tx, s.id, source);
          // Outstanding confirmation links stop working.
          await tx.delete(pendingSignups).where(eq(pendingSignups.subscriberId, s.id));
        }
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
        if (s.status !== "unsubscribed" && s.status !== "pending") return { subscriber: s, needsConfirmation: false, version: undefined };
        if (s.status === "unsubscribed" && s.confirmedAt !== null) {
          const [updated] = await tx
            .update(subscribers)
            .set({ status: "active", unsubscribedAt: null, updatedAt: now })
            .where(eq(subscribers.id, s.id))
            .returning();
          return { subscriber: updated ?? s, needsConfirmation: false, version: undefined };
        }
        // Never confirmed (or pressed twice): a fresh confirmation for what they last asked for.
        const renewed = await renewPendingSignup(tx, s, now);
        return { subscriber: renewed.subscriber, needsConfirmation: true, version: renewed.version };
      });
      if (result.version !== undefined) {
        await deps.mail.enqueueSubscriberMail([{ kind: "confirm", subscriberId: result.subscriber.id, version: result.version }]);
      }
      return { subscriber: result.subscriber, needsConfirmation: result.needsConfirmation, topics: await subscriberTopicLabels(db, result.subscriber.id) };
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
        await tx.delete(pendingSignups).where(eq(pendingSignups.subscriberId, s.id));
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

    /**
     * An active subscriber the operator vouches for (the demo): created, or brought back
     * to active and unpaused with these settings and topics. No double opt-in and no
     * email: the consent record says who set it up.
     */
    async enrol(input: EnrolInput, consent: ConsentRecord, now = new Date()): Promise<Subscriber> {
      return db.transaction(async (tx) => {
        await validatePreferences(tx, input);
        const settings = {
          status: "active" as const,
          timezone: input.timezone,
          sendHour: input.sendHour,
          frequency: input.frequency,
          maxPapers: input.maxPapers,
          pausedAt: null,
          unsubscribedAt: null,
          confirmedAt: now,
          updatedAt: now,
        };
        const [existing] = await tx
          .update(subscribers)
          .set(settings)
          .where(sql`lower(${subscribers.email}) = ${input.email.toLowerCase()}`)
          .returning();
        const s =
          existing ??
          (
            await tx
              .insert(subscribers)
              .values({ email: input.email, ...settings, consentAt: now, consentIp: consent.ip, consentUserAgent: consent.userAgent, confirmIp: consent.ip })
              .returning()
          )[0];
        if (!s) throw new Error(`could not enrol ${input.email}`);
        await setSubscriberTopics(tx, s.id, input.topics);
        return s;
      });
    },
  };
}

/** What the operator sets for a subscriber they enrol (see enrol). */
export interface EnrolInput {
  email: string;
  topics: string[];
  timezone: string;
  sendHour: number;
  frequency: "daily" | "weekly";
  maxPapers: number;
}

export type SubscriberService = ReturnType<typeof createSubscriberService>;
