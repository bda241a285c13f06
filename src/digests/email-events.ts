import type pg from "pg";
import { connectionLost } from "../db/client.js";
import { digestIdFromMessageId } from "./send.js";

/** A bounce or complaint reported after the fact (an ESP webhook, a feedback loop). */
export interface ReportedEvent {
  messageId?: string | undefined;
  email?: string | undefined;
  type: "bounce" | "complaint";
  permanent: boolean;
  source: string;
  detail?: string | undefined;
}

/** A value a provider sent that can be looked up as is: no control characters, a sane length. */
function usable(value: string | undefined, max: number): string | undefined {
  // eslint-disable-next-line no-control-regex -- NUL would fail the query; others never occur in an address or Message-ID
  return value && value.length <= max && !/[\u0000-\u001f\u007f]/.test(value) ? value.trim() : undefined;
}

/** The provider's reason as one line of at most 500 characters (it is shown to operators, never mailed). */
function detailText(detail: string | undefined): string | null {
  // eslint-disable-next-line no-control-regex
  const d = detail?.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return d ? d.slice(0, 500) : null;
}

export interface EventOutcome {
  matched: boolean;
  subscriberStatus?: string;
}

/** Where an event is matched and how many permanent bounces suppress an address (BOUNCE_LIMIT, as at send time). */
export interface EventSettings {
  mailDomain: string;
  bounceLimit: number;
}

/**
 * Records the event and suppresses the subscriber: a complaint stops all mail
 * (complained); the `bounceLimit`-th permanent bounce marks the address bounced, the
 * same rule as a 5xx at send time. A temporary bounce is only recorded. One
 * transaction, so an event is never half-applied.
 *
 * Matched by our Message-ID first (the digest's subscriber), unless the event also
 * names a recipient that is not that subscriber: then the address decides, since it is
 * what bounced. Events that match no subscriber change nothing.
 */
export async function recordEmailEvent(pool: pg.Pool, settings: EventSettings, ev: ReportedEvent): Promise<EventOutcome> {
  const client = await pool.connect();
  let released = false;
  try {
    await client.query("begin");
    let subscriberId: number | undefined;
    let digestId: number | null = null;
    const email = usable(ev.email, 320);
    const messageId = usable(ev.messageId, 998);
    if (messageId) {
      digestId = digestIdFromMessageId(messageId, settings.mailDomain);
      if (digestId !== null) {
        const r = await client.query<{ subscriber_id: number; email: string | null }>(
          "select d.subscriber_id, s.email from digests d join subscribers s on s.id = d.subscriber_id where d.id = $1",
          [digestId],
        );
        const row = r.rows[0];
        if (row && (!email || !row.email || row.email.toLowerCase() === email.toLowerCase())) subscriberId = row.subscriber_id;
        else digestId = null;
      }
    }
    if (subscriberId === undefined && email) {
      const r = await client.query<{ id: number }>("select id from subscribers where lower(email) = lower($1)", [email]);
      subscriberId = r.rows[0]?.id;
    }
    if (subscriberId === undefined) {
      await client.query("rollback");
      return { matched: false };
    }
    await client.query(
      `insert into email_events (subscriber_id, digest_id, type, permanent, source, detail) values ($1, $2, $3, $4, $5, $6)`,
      [subscriberId, digestId, ev.type, ev.permanent, ev.source, detailText(ev.detail)],
    );
    const { rows } = await client.query<{ status: string }>(
      `update subscribers set
         status = case
           when $2 = 'complaint' then 'complained'::subscriber_status
           when $2 = 'bounce' and $3 and status <> 'complained' and bounce_count + 1 >= $4::int then 'bounced'::subscriber_status
           else status end,
         bounce_count = bounce_count + case when $2 = 'bounce' and $3 then 1 else 0 end,
         updated_at = now()
       where id = $1 returning status`,
      [subscriberId, ev.type, ev.permanent, settings.bounceLimit],
    );
    await client.query("commit");
    return { matched: true, subscriberStatus: rows[0]?.status ?? "unknown" };
  } catch (err) {
    const rolledBack = await client.query("rollback").then(
      () => true,
      () => false,
    );
    // A client whose connection or transaction state is in doubt is closed, not lent out again.
    released = true;
    client.release(rolledBack && !connectionLost(client) ? undefined : (connectionLost(client) ?? (err as Error)));
    throw err;
  } finally {
    if (!released) client.release();
  }
}
