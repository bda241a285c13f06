import { and, eq, lt, sql } from "drizzle-orm";
import type { QueryResultRow } from "pg";
import type { Queryable } from "../db/client.js";
import { pendingSignups, subscribers } from "../db/schema.js";
import type { SignupInput } from "./preferences.js";
import { CONFIRM_TOKEN_TTL_MS } from "./tokens.js";
import { normalizeTopic, setSubscriberTopics, unsearchableTopic } from "./topics.js";

/**
 * A signup is held as a pending signup until its confirmation link is clicked, so that
 * whoever types an address into the form cannot change that subscriber's topics,
 * schedule or consent record. A new address gets a pending subscriber row with the
 * requested schedule (nobody else's record); its topics, like everyone's, are
 * applied by the confirmation.
 */

export type PendingSignup = typeof pendingSignups.$inferSelect;

export interface SignupConsent {
  at: Date;
  ip: string | null;
  userAgent: string | null;
}

export interface RecordedSignup {
  subscriberId: number;
  /** After the signup: `pending` for a new, pending or unsubscribed address. */
  status: (typeof subscribers.$inferSelect)["status"];
  /** The signup's version: what its confirmation link (and its mail job) names. */
  version: number;
}

/** Runs SQL by text, as pg.Pool and pg.Client do (the signup statement is prepared once per connection). */
export interface SqlClient {
  query<R extends QueryResultRow>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

const RECORD_SIGNUP = `
  with bad as (
    select min(i)::int as i from unnest($1::text[]) with ordinality as t(q, i)
    where websearch_to_tsquery('english', q)::text = ''
  ), s as (
    insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, add_trending,
                             consent_at, consent_ip, consent_user_agent, signup_version, created_at, updated_at)
    select $2::text, 'pending', $3::text, $4::smallint, $5::frequency, $6::smallint, $7::smallint, $8::boolean, $13::boolean,
           $9::timestamptz, $10::text, $11::text, 1, $9::timestamptz, $9::timestamptz
    where (select i from bad) is null
    on conflict ((lower(email))) do update set
      signup_version = subscribers.signup_version + 1,
      status = case when subscribers.status = 'unsubscribed' then 'pending'::subscriber_status else subscribers.status end,
      updated_at = excluded.updated_at
    returning id, status, signup_version
  ), p as (
    insert into pending_signups (subscriber_id, version, topics, timezone, send_hour, frequency, weekday, max_papers,
                                 send_when_empty, add_trending, consent_at, consent_ip, consent_user_agent, created_at)
    select s.id, s.signup_version, $12::text[], $3, $4, $5, $6, $7, $8, $13, $9, $10, $11, $9
    from s where s.status = 'pending'
  )
  select (select i from bad) as bad, s.id, s.status, s.signup_version as version from (select 1) as one left join s on true`;

/**
 * Records one signup in one statement (one round trip, one commit), whatever the
 * address's state: checks that every topic is searchable (else nothing is written and
 * the first bad topic is refused, naming its field); creates the subscriber, or counts
 * one more signup of an existing one and lets an unsubscribed address await
 * confirmation again; and holds the requested choices as a pending signup when the
 * address can be confirmed. Active and suppressed subscribers keep their record as it
 * is. The unique index on lower(email) serialises concurrent signups of one address.
 * A named (prepared) statement: Postgres plans it once per connection, which halves
 * its cost on the signup path.
 */
export async function recordSignup(client: SqlClient, input: SignupInput, consent: SignupConsent): Promise<RecordedSignup> {
  const { rows } = await client.query<{ bad: number | null; id: number | null; status: RecordedSignup["status"] | null; version: number | null }>({
    name: "paperboy-record-signup",
    text: RECORD_SIGNUP,
    values: [
      input.topics.map(normalizeTopic),
      input.email,
      input.timezone,
      input.sendHour,
      input.frequency,
      input.weekday,
      input.maxPapers,
      input.sendWhenEmpty,
      consent.at.toISOString(),
      consent.ip,
      consent.userAgent,
      input.topics,
      input.addTrending,
    ],
  });
  const row = rows[0];
  if (row?.bad != null) throw unsearchableTopic(input.topics, row.bad - 1);
  if (row?.id == null || !row.status || row.version == null) throw new Error("signup recorded no subscriber");
  return { subscriberId: Number(row.id), status: row.status, version: Number(row.version) };
}

export async function pendingSignup(db: Queryable, subscriberId: number, version: number): Promise<PendingSignup | undefined> {
  const [row] = await db
    .select()
    .from(pendingSignups)
    .where(and(eq(pendingSignups.subscriberId, subscriberId), eq(pendingSignups.version, version)));
  return row;
}

/**
 * The confirmation: the subscriber gets what this signup asked for and becomes active;
 * the address's other pending signups are dropped (their links then show "subscribed").
 * Run in the caller's transaction, with the subscriber row locked.
 */
export async function applyPendingSignup(tx: Queryable, subscriberId: number, p: PendingSignup, confirm: { at: Date; ip: string | null }) {
  const [updated] = await tx
    .update(subscribers)
    .set({
      status: "active",
      timezone: p.timezone,
      sendHour: p.sendHour,
      frequency: p.frequency,
      weekday: p.weekday,
      maxPapers: p.maxPapers,
      sendWhenEmpty: p.sendWhenEmpty,
      addTrending: p.addTrending,
      consentAt: p.consentAt,
      consentIp: p.consentIp,
      consentUserAgent: p.consentUserAgent,
      pausedAt: null,
      confirmedAt: confirm.at,
      confirmIp: confirm.ip,
      unsubscribedAt: null,
      updatedAt: confirm.at,
    })
    .where(eq(subscribers.id, subscriberId))
    .returning();
  await setSubscriberTopics(tx, subscriberId, p.topics);
  await tx.delete(pendingSignups).where(eq(pendingSignups.subscriberId, subscriberId));
  return updated;
}

/**
 * A fresh confirmation for a subscriber who never confirmed and comes back from the
 * unsubscribe page: their stored choices become a new pending signup.
 */
export async function renewPendingSignup(tx: Queryable, s: typeof subscribers.$inferSelect, now: Date) {
  const [updated] = await tx
    .update(subscribers)
    .set({ status: "pending", unsubscribedAt: null, signupVersion: sql`${subscribers.signupVersion} + 1`, updatedAt: now })
    .where(eq(subscribers.id, s.id))
    .returning();
  if (!updated) throw new Error(`subscriber ${s.id} vanished while locked`);
  await insertPendingFromStored(tx, [s.id], "confirm");
  return { subscriber: updated, version: updated.signupVersion };
}

/**
 * Pending signups at each subscriber's current signup_version, holding what is stored
 * for them now (an import's rows, a renewed confirmation). One statement.
 */
export async function insertPendingFromStored(tx: Queryable, subscriberIds: number[], mailKind: PendingSignup["mailKind"]): Promise<void> {
  if (subscriberIds.length === 0) return;
  await tx.execute(sql`
    insert into pending_signups (subscriber_id, version, topics, timezone, send_hour, frequency, weekday, max_papers,
                                 send_when_empty, add_trending, consent_at, consent_ip, consent_user_agent, mail_kind)
    select s.id, s.signup_version,
           array(select st.label from subscriber_topics st where st.subscriber_id = s.id order by st.position, st.created_at, st.topic_id),
           s.timezone, s.send_hour, s.frequency, s.weekday, s.max_papers, s.send_when_empty, s.add_trending,
           coalesce(s.consent_at, now()), s.consent_ip, s.consent_user_agent, ${mailKind}
    from subscribers s where s.id = any(${sql.param(subscriberIds)}::bigint[])
    on conflict (subscriber_id, version) do nothing`);
}

/**
 * Pending signups whose links have expired (with a day's margin for mail that waited in
 * the queue) hold a stranger's IP for nothing: the hourly plan job drops them.
 */
export async function deleteExpiredPendingSignups(db: Queryable, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - CONFIRM_TOKEN_TTL_MS - 24 * 60 * 60 * 1000);
  const deleted = await db.delete(pendingSignups).where(lt(pendingSignups.createdAt, cutoff)).returning({ id: pendingSignups.subscriberId });
  return deleted.length;
}

/** How long a confirmation email may sit in the queue before the hourly plan counts it lost. */
export const OWED_MAIL_GRACE_MS = 15 * 60 * 1000;

/**
 * The confirmation emails still owed: each pending subscriber's newest pending signup
 * whose email was neither sent nor given up, made more than OWED_MAIL_GRACE_MS ago and
 * while its link is still valid. Their jobs are in Redis unless Redis lost them;
 * enqueueing them again under the same job id is harmless either way.
 */
export async function owedConfirmations(db: Queryable, now: Date, limit = 10_000): Promise<{ kind: PendingSignup["mailKind"]; subscriberId: number; version: number }[]> {
  const rows = await db.execute<{ kind: PendingSignup["mailKind"]; subscriber_id: string | number; version: number }>(sql`
    select distinct on (p.subscriber_id) p.mail_kind as kind, p.subscriber_id, p.version
    from pending_signups p join subscribers s on s.id = p.subscriber_id
    where p.mailed_at is null and s.status = 'pending' and s.email is not null
      and p.created_at > ${new Date(now.getTime() - CONFIRM_TOKEN_TTL_MS).toISOString()}::timestamptz
      and p.created_at < ${new Date(now.getTime() - OWED_MAIL_GRACE_MS).toISOString()}::timestamptz
    order by p.subscriber_id, p.version desc
    limit ${limit}`);
  return rows.rows.map((r) => ({ kind: r.kind, subscriberId: Number(r.subscriber_id), version: r.version }));
}

/** The confirmation email of this signup was sent or given up: it is no longer owed. */
export async function markConfirmationMailed(db: Queryable, subscriberId: number, version: number, at: Date): Promise<void> {
  await db.update(pendingSignups).set({ mailedAt: at }).where(and(eq(pendingSignups.subscriberId, subscriberId), eq(pendingSignups.version, version)));
}
