/**
 * The send pipeline: a batch of digest ids → emails handed to SMTP, each digest at
 * most once per claim.
 *
 * States: queued → sending → sent | skipped | bounced | failed (and back to queued on
 * a transient SMTP failure, until SEND_MAX_ATTEMPTS).
 *
 * Exactly once. A digest is claimed on its own, right before it is sent, with a
 * conditional update (`queued → sending`); a duplicated or retried job finds nothing
 * to claim. It is marked `sent` right after the SMTP server accepted it, before the
 * next digest of the same lane is claimed: by the same statement that claims that
 * next digest (one round trip and one commit per email instead of two), or on its
 * own when the lane has nothing left. So `sending` means exactly "this digest
 * may be in an SMTP transaction right now": every other digest of a batch is either
 * still `queued` or already settled.
 *
 * Crash policy (a worker dies: SIGKILL, OOM, power). Digests still `queued` are
 * simply sent by the retried job (BullMQ hands a stalled job to another worker).
 * A digest left in `sending` was in flight: we cannot know whether the server
 * accepted it. Once its lease (SEND_LEASE_MS, longer than any SMTP transaction can
 * take with our timeouts) has run out, the next job that holds it re-claims it and
 * sends it again with the SAME Message-ID (`<digest-{id}@{MAIL_DOMAIN}>`), so a
 * receiver that already has it can drop the copy. A job that meets a digest whose
 * lease has not run out waits for it (the job is delayed, not failed). The only
 * possible duplicate is a digest the server accepted in the instant between its
 * `250 OK` and our `sent` update (well under a millisecond here), at most one per
 * lane of a dead worker, and it carries the same Message-ID. We chose this over
 * marking such digests `failed` for an operator because a lost digest is a silent
 * failure nobody resends, while a rare same-Message-ID copy is harmless.
 */
import type pg from "pg";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { MimeWriter } from "../mail/mime.js";
import { loadBatchPapers } from "./batch-papers.js";
import type { DigestInput, DigestPaper, DigestRenderer, RenderedDigest } from "./render.js";

export interface SendSettings {
  mailDomain: string;
  listId: string;
  listUnsubscribeMailto?: string | undefined;
  /** Sends of one digest (claims) before a transient failure becomes `failed`. */
  maxAttempts: number;
  /** Permanent bounces before the subscriber is suppressed. */
  bounceLimit: number;
  /** How long a claim holds before another worker may take the digest over. */
  leaseMs: number;
  /** Digests of one batch in flight at once (each lane sends one at a time). */
  lanes: number;
  /** Pace of this batch in emails per second; undefined = as fast as SMTP takes them. */
  ratePerSecond?: number | undefined;
}

export interface SendDeps {
  /** Raw pool: the per-digest statements are named (prepared once per connection). */
  pool: pg.Pool;
  mailer: Mailer;
  renderer: DigestRenderer;
  mime: MimeWriter;
  logger: Logger;
  settings: SendSettings;
}

export interface BatchOptions {
  /** No retry follows: transient failures become `failed` instead of `queued`. */
  finalAttempt?: boolean;
}

export interface BatchResult {
  sent: number;
  skipped: number;
  bounced: number;
  failed: number;
  /** Back to `queued` after a transient failure: the job should retry. */
  retry: number;
  /** Held in `sending` by another claim whose lease has not run out. */
  leased: number;
  /** Milliseconds until the first of those leases runs out. */
  leaseWaitMs: number;
  /** Already settled (sent, skipped…) or unknown: nothing to do. */
  done: number;
  /** Seconds from planning (created_at) to SMTP acceptance, one per digest sent. */
  sentLagSeconds: number[];
}

export const messageIdFor = (digestId: number, domain: string) => `<digest-${digestId}@${domain}>`;

/** Parses our own Message-ID back to the digest id; null for anything else. */
export function digestIdFromMessageId(messageId: string, domain: string): number | null {
  const m = /^<?digest-([1-9][0-9]{0,15})@([^>]+)>?$/.exec(messageId.trim());
  if (!m || m[2]?.toLowerCase() !== domain.toLowerCase()) return null;
  return Number(m[1]);
}

export type SmtpOutcome = "permanent" | "transient";

/** 5xx replies are permanent; 4xx replies, dropped connections, timeouts and anything unknown are transient. */
export function classifySmtpError(err: unknown): SmtpOutcome {
  const code = (err as { responseCode?: unknown }).responseCode;
  if (typeof code === "number" && code >= 500 && code < 600) return "permanent";
  return "transient";
}

function describe(err: unknown): string {
  const e = err as { response?: unknown; message?: unknown };
  const text = typeof e.response === "string" ? e.response : typeof e.message === "string" ? e.message : String(err);
  return text.slice(0, 500);
}

interface ClaimRow {
  id: number;
  period: string;
  subscriber_id: number;
  email: string | null;
  subscriber_status: string;
  paused: boolean;
  erased: boolean;
  token_version: number;
  feed_version: number;
  frequency: "daily" | "weekly";
  timezone: string;
  created_ms: number;
}

/** queued → sending, or a `sending` digest whose lease ran out (its worker died). */
const CLAIM_SQL = `
update digests d set status = 'sending', claimed_at = now(), attempts = d.attempts + 1, updated_at = now()
from subscribers s
where d.id = $1 and s.id = d.subscriber_id
  and (d.status = 'queued' or (d.status = 'sending' and d.claimed_at < now() - make_interval(secs => $2::double precision / 1000)))
returning d.id, to_char(d.period, 'YYYY-MM-DD') as period, d.subscriber_id, s.email, s.status as subscriber_status,
  s.paused_at is not null as paused, s.erased_at is not null as erased, s.token_version, s.feed_version, s.frequency, s.timezone,
  extract(epoch from d.created_at)::float8 * 1000 as created_ms`;

const SENT_SQL = `update digests set status = 'sent', message_id = $2, sent_at = now(), error = null, updated_at = now()
where id = $1 and status = 'sending'`;

/**
 * The lane's previous digest ($3, accepted by SMTP as $4) marked sent and the next one
 * ($1) claimed, in one statement. Both CTE branches always run; they touch different rows.
 */
const SENT_AND_CLAIM_SQL = `
with sent as (
  update digests set status = 'sent', message_id = $4, sent_at = now(), error = null, updated_at = now()
  where id = $3 and status = 'sending'
)
${CLAIM_SQL}`;

const SKIP_SQL = `update digests set status = 'skipped', error = $2, claimed_at = null, updated_at = now()
where id = $1 and status = 'sending'`;

const TRANSIENT_SQL = `update digests set status = case when $3::boolean or attempts >= $4::int then 'failed'::digest_status else 'queued'::digest_status end,
  error = $2, claimed_at = null, updated_at = now()
where id = $1 and status = 'sending' returning status`;

/** Bounce the digest, record the event and count it against the subscriber, in one statement. */
const BOUNCE_SQL = `
with d as (
  update digests set status = 'bounced', error = $2, claimed_at = null, updated_at = now()
  where id = $1 and status = 'sending' returning id, subscriber_id
), e as (
  insert into email_events (subscriber_id, digest_id, type, permanent, source, detail)
  select subscriber_id, id, 'bounce', true, 'smtp', $2 from d
)
update subscribers s set bounce_count = s.bounce_count + 1, updated_at = now(),
  status = case when s.bounce_count + 1 >= $3::int and s.status = 'active' then 'bounced'::subscriber_status else s.status end
from d where s.id = d.subscriber_id
returning s.status`;

const LEASED_SQL = `select coalesce(min(extract(epoch from (claimed_at + make_interval(secs => $2::double precision / 1000) - now())) * 1000), 0)::float8 as wait_ms,
  count(*)::int as n
from digests where id = any($1::bigint[]) and status = 'sending'`;

function skipReason(c: ClaimRow): string | null {
  if (c.erased || !c.email) return "subscriber erased";
  if (c.subscriber_status !== "active") return `subscriber ${c.subscriber_status}`;
  if (c.paused) return "subscriber paused";
  return null;
}

/** A digest the SMTP server accepted, to be marked `sent` by the lane's next statement. */
interface Accepted {
  id: number;
  messageId: string;
}

export interface DigestSender {
  sendBatch(digestIds: number[], opts?: BatchOptions): Promise<BatchResult>;
}

export function createDigestSender(deps: SendDeps): DigestSender {
  const { pool, mailer, renderer, mime, logger, settings } = deps;
  const mailto = settings.listUnsubscribeMailto ? `, <mailto:${settings.listUnsubscribeMailto}?subject=unsubscribe>` : "";

  async function deliver(c: ClaimRow, papers: DigestPaper[], render: (d: DigestInput) => RenderedDigest): Promise<string> {
    const email = c.email ?? "";
    const rendered = render({
      digestId: c.id,
      period: c.period,
      recipient: { subscriberId: c.subscriber_id, tokenVersion: c.token_version, feedVersion: c.feed_version, email, frequency: c.frequency, timezone: c.timezone },
      papers,
    });
    const messageId = messageIdFor(c.id, settings.mailDomain);
    const headers = { "List-Unsubscribe": `<${rendered.oneClickUrl}>${mailto}` };
    if (mime.canWrite(email)) {
      const raw = mime.build({ to: email, subject: rendered.subject, messageId, text: rendered.text, html: rendered.html, headers });
      await mailer.sendRaw({ from: mime.envelopeFrom, to: email }, raw, messageId);
    } else {
      // Internationalised addresses need nodemailer's SMTPUTF8 handling.
      await mailer.send({
        to: email,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        messageId,
        headers: { ...headers, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": `paperboy <${settings.listId}>` },
      });
    }
    return messageId;
  }

  return {
    async sendBatch(digestIds, opts = {}) {
      const ids = [...new Set(digestIds)];
      const result: BatchResult = { sent: 0, skipped: 0, bounced: 0, failed: 0, retry: 0, leased: 0, leaseWaitMs: 0, done: 0, sentLagSeconds: [] };
      if (ids.length === 0) return result;
      const papers = await loadBatchPapers(pool, ids);
      const render = renderer.batch();
      const unclaimed: number[] = [];
      const interval = settings.ratePerSecond ? 1000 / settings.ratePerSecond : 0;
      let nextSlot = Date.now();
      let cursor = 0;

      const pace = async () => {
        if (!interval) return;
        const now = Date.now();
        const at = Math.max(nextSlot, now);
        nextSlot = at + interval;
        if (at > now) await new Promise((r) => setTimeout(r, at - now));
      };

      /** Marks a lane's accepted digest sent on its own (the lane has no next claim to carry it). */
      const markSent = async (s: Accepted | null) => {
        if (s) await pool.query({ name: "digest_sent", text: SENT_SQL, values: [s.id, s.messageId] });
      };

      /** One digest of a lane; `accepted` is the lane's previous digest, sent but not yet marked. */
      const one = async (id: number, accepted: Accepted | null): Promise<Accepted | null> => {
        let claim: pg.QueryResult<ClaimRow>;
        try {
          claim = accepted
            ? await pool.query<ClaimRow>({ name: "digest_sent_claim", text: SENT_AND_CLAIM_SQL, values: [id, settings.leaseMs, accepted.id, accepted.messageId] })
            : await pool.query<ClaimRow>({ name: "digest_claim", text: CLAIM_SQL, values: [id, settings.leaseMs] });
        } catch (err) {
          // The mark rolled back with the claim: record it alone so the accepted digest is not sent again.
          await markSent(accepted).catch(() => undefined);
          throw err;
        }
        const c = claim.rows[0];
        if (!c) {
          unclaimed.push(id);
          return null;
        }
        const reason = skipReason(c);
        if (reason) {
          await pool.query({ name: "digest_skip", text: SKIP_SQL, values: [id, reason] });
          result.skipped++;
          return null;
        }
        await pace();
        let messageId: string;
        try {
          messageId = await deliver(c, papers.get(id) ?? [], render);
        } catch (err) {
          const detail = describe(err);
          if (classifySmtpError(err) === "permanent") {
            const r = await pool.query<{ status: string }>({ name: "digest_bounce", text: BOUNCE_SQL, values: [id, detail, settings.bounceLimit] });
            result.bounced++;
            logger.warn({ digestId: id, subscriberId: c.subscriber_id, subscriberStatus: r.rows[0]?.status, detail }, "digest bounced");
          } else {
            const r = await pool.query<{ status: string }>({
              name: "digest_transient",
              text: TRANSIENT_SQL,
              values: [id, detail, opts.finalAttempt === true, settings.maxAttempts],
            });
            if (r.rows[0]?.status === "failed") result.failed++;
            else result.retry++;
            logger.warn({ digestId: id, status: r.rows[0]?.status, detail }, "digest send failed (transient)");
          }
          return null;
        }
        result.sent++;
        result.sentLagSeconds.push(Math.max(0, (Date.now() - c.created_ms) / 1000));
        return { id, messageId };
      };

      const lane = async () => {
        let accepted: Accepted | null = null;
        while (cursor < ids.length) {
          const id = ids[cursor++];
          if (id !== undefined) accepted = await one(id, accepted);
        }
        await markSent(accepted);
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(settings.lanes, ids.length)) }, lane));

      if (unclaimed.length > 0) {
        const { rows } = await pool.query<{ wait_ms: number; n: number }>({ name: "digest_leased", text: LEASED_SQL, values: [unclaimed, settings.leaseMs] });
        result.leased = rows[0]?.n ?? 0;
        result.leaseWaitMs = Math.max(0, Math.ceil(rows[0]?.wait_ms ?? 0));
        result.done = unclaimed.length - result.leased;
      }
      return result;
    },
  };
}

/** Queued digest ids, and `sending` ones whose lease ran out, by key (`id > last`), for the CLI and sweeps. */
export async function pendingDigestIds(pool: pg.Pool, afterId: number, limit: number, leaseMs: number): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `select id from digests where id > $1 and (status = 'queued' or (status = 'sending' and claimed_at < now() - make_interval(secs => $3::double precision / 1000)))
     order by id limit $2`,
    [afterId, limit, leaseMs],
  );
  return rows.map((r) => r.id);
}
