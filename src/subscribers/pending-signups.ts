import { and, eq, lt, sql } from "drizzle-orm";
import type { QueryResultRow } from "pg";
import type { Queryable } from "../db/client.js";
import { pendingSignups, subscribers } from "../db/schema.js";
import { emailKey, type SignupInput } from "./preferences.js";
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

/**
 * The signups of one batch as a JSON array, one object per signup (`n` its position;
 * `check` the normalized topics still to be checked; `topics` as typed). Every address in
 * a batch is distinct (lower case), so no row is inserted or updated twice.
 */
const RECORD_SIGNUPS = `
  -- paperboy: record signups (subscribers, pending_signups). Named first: pg_stat_activity keeps only the statement's first 1 kB.
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as t(n int, email text, timezone text, send_hour smallint, frequency frequency,
      weekday smallint, max_papers smallint, send_when_empty boolean, add_trending boolean, at timestamptz, ip text, ua text,
      topics text[], "check" text[])
  ), checked as (
    select input.*, (select min(i)::int from unnest(input."check") with ordinality as c(q, i)
                     where websearch_to_tsquery('english', q)::text = '') as bad
    from input
  ), s as (
    insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, add_trending,
                             consent_at, consent_ip, consent_user_agent, signup_version, created_at, updated_at)
    select email, 'pending', timezone, send_hour, frequency, weekday, max_papers, send_when_empty, add_trending,
           at, ip, ua, 1, at, at
    -- Rows are taken in address order, not arrival order: two statements holding the same addresses
    -- (a repeated address goes in the next statement; another API process) then wait, not deadlock.
    from checked where bad is null order by lower(email)
    on conflict ((lower(email))) do update set
      signup_version = subscribers.signup_version + 1,
      status = case when subscribers.status = 'unsubscribed' then 'pending'::subscriber_status else subscribers.status end,
      updated_at = excluded.updated_at
    returning id, lower(email) as key, status, signup_version
  ), p as (
    insert into pending_signups (subscriber_id, version, topics, timezone, send_hour, frequency, weekday, max_papers,
                                 send_when_empty, add_trending, consent_at, consent_ip, consent_user_agent, created_at)
    select s.id, s.signup_version, c.topics, c.timezone, c.send_hour, c.frequency, c.weekday, c.max_papers,
           c.send_when_empty, c.add_trending, c.at, c.ip, c.ua, c.at
    from s join checked c on lower(c.email) = s.key where s.status = 'pending'
  )
  select c.n, c.bad, s.id, s.status, s.signup_version as version from checked c left join s on s.key = lower(c.email) order by c.n`;

interface SignupRow {
  n: number;
  bad: number | null;
  id: number | string | null;
  status: RecordedSignup["status"] | null;
  version: number | null;
}

interface SignupRequest {
  input: SignupInput;
  consent: SignupConsent;
  resolve: (r: RecordedSignup) => void;
  reject: (err: unknown) => void;
}

/**
 * Records signups, whatever each address's state: checks that every topic is searchable,
 * unless `searchable` already knows it is (else nothing is written for that signup and
 * its first bad topic is refused, naming its field); creates the subscriber, or counts
 * one more signup of an existing one and lets an unsubscribed address await
 * confirmation again; and holds the requested choices as a pending signup when the
 * address can be confirmed. Active and suppressed subscribers keep their record as it
 * is. The unique index on lower(email) serialises concurrent signups of one address.
 *
 * Signups asked for in the same turn of the event loop (concurrent requests) share one
 * prepared statement: one round trip and one commit for all of them, as the mail jobs
 * share one addBulk. Each caller's promise settles with its own signup; if the
 * statement fails, every signup of the batch fails and none is stored. Two signups of
 * one address never share a statement (the second goes in the next).
 */
export function createSignupRecorder(client: SqlClient, searchable: SearchableTopics = createSearchableTopics()) {
  let waiting: SignupRequest[] = [];
  let scheduled = false;

  async function run(batch: SignupRequest[]): Promise<void> {
    const signups = batch.map(({ input, consent }, n) => {
      const check = input.topics.map((t, i) => ({ query: normalizeTopic(t), i })).filter((t) => !searchable.has(t.query));
      return { n, input, consent, check };
    });
    let rows: SignupRow[];
    try {
      ({ rows } = await client.query<SignupRow>({
        name: "paperboy-record-signups",
        text: RECORD_SIGNUPS,
        values: [
          JSON.stringify(
            signups.map(({ n, input, consent, check }) => ({
              n,
              email: input.email,
              timezone: input.timezone,
              send_hour: input.sendHour,
              frequency: input.frequency,
              weekday: input.weekday,
              max_papers: input.maxPapers,
              send_when_empty: input.sendWhenEmpty,
              add_trending: input.addTrending,
              at: consent.at.toISOString(),
              ip: consent.ip,
              ua: consent.userAgent,
              topics: input.topics,
              check: check.map((t) => t.query),
            })),
          ),
        ],
      }));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const byN = new Map(rows.map((r) => [r.n, r]));
    for (const { n, input, check } of signups) {
      const w = batch[n]!;
      const row = byN.get(n);
      if (row?.bad != null) {
        w.reject(unsearchableTopic(input.topics, check[row.bad - 1]?.i ?? 0));
      } else if (row?.id == null || !row.status || row.version == null) {
        w.reject(new Error("signup recorded no subscriber"));
      } else {
        for (const t of check) searchable.add(t.query);
        w.resolve({ subscriberId: Number(row.id), status: row.status, version: Number(row.version) });
      }
    }
  }

  function flush(): void {
    scheduled = false;
    let rest = waiting;
    waiting = [];
    while (rest.length > 0) {
      const keys = new Set<string>();
      const batch: SignupRequest[] = [];
      const later: SignupRequest[] = [];
      for (const w of rest) {
        const key = emailKey(w.input.email);
        if (keys.has(key)) later.push(w);
        else {
          keys.add(key);
          batch.push(w);
        }
      }
      void run(batch);
      rest = later;
    }
  }

  return function recordSignup(input: SignupInput, consent: SignupConsent): Promise<RecordedSignup> {
    return new Promise<RecordedSignup>((resolve, reject) => {
      waiting.push({ input, consent, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  };
}

export type SignupRecorder = ReturnType<typeof createSignupRecorder>;

/**
 * Normalized topics Postgres has found searchable, so that the next signup naming them
 * does not ask again: whether websearch_to_tsquery reduces a query to nothing depends
 * only on the query and the (fixed) English configuration. Bounded: emptied when full.
 * A hit tells a caller's timing no more than that someone named that topic since the
 * process started; nothing about any address.
 */
export interface SearchableTopics {
  has(query: string): boolean;
  add(query: string): void;
}

export function createSearchableTopics(max = 10_000): SearchableTopics {
  const known = new Set<string>();
  return {
    has: (query) => known.has(query),
    add(query) {
      if (known.size >= max) known.clear();
      known.add(query);
    },
  };
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
