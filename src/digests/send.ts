/**
 * The send pipeline: a batch of digest ids → emails handed to SMTP, each digest at
 * most once per claim.
 *
 * States: queued → sending → sent | skipped | bounced | failed (and back to queued on
 * a transient SMTP failure).
 *
 * A busy server is not a bad digest. A transient failure (4xx reply, refused or
 * dropped connection, timeout) puts the digest back to `queued` without spending one
 * of its attempts; when every lane of the batch meets one in a row the batch stops
 * claiming (it is "throttled") and the caller pauses and retries it later. Only the
 * caller knows how long the server has been busy, so giving up (after the retry
 * window) is its decision: failQueued().
 *
 * Exactly once, in groups. A lane claims its next K digests (SEND_GROUP_SIZE) with one
 * conditional update (`queued → sending`); a duplicated or retried job finds nothing to
 * claim. It claims the group after while it sends one (so up to 2K are claimed per lane).
 * A digest the SMTP server accepted joins a group that is marked `sent` by one
 * statement once K are waiting or SEND_GROUP_INTERVAL_MS has passed, whichever comes
 * first (acceptances.ts), instead of one commit per email. A lane does not start an SMTP
 * transaction while K × lanes of its batch are accepted-but-unrecorded or in transit, so
 * `sending` means "claimed by a live lane: waiting its turn, in an SMTP transaction, or
 * accepted and in the next group" and never more than K × lanes of them were accepted.
 * K = 1 is the old one-claim-one-mark-per-email behaviour.
 *
 * Crash policy (a worker dies: SIGKILL, OOM, power). Digests still `queued` are
 * simply sent by the retried job (BullMQ hands a stalled job to another worker).
 * A digest left in `sending` was in flight: we cannot know whether the server
 * accepted it. Once its lease (SEND_LEASE_MS, longer than any SMTP transaction can
 * take with our timeouts) has run out, the next job that holds it re-claims it and
 * sends it again with the SAME Message-ID (`<digest-{id}@{MAIL_DOMAIN}>`), so a
 * receiver that already has it can drop the copy. A job that meets a digest whose
 * lease has not run out waits for it (the job is delayed, not failed). A copy (always
 * with the same Message-ID) needs a message the server accepted that we could not
 * record: the worker died between the server's `250 OK` and the `sent` update of its
 * group (at most K × lanes per batch: those accepted since the last recorded group);
 * Postgres stayed away for longer than half the lease right
 * after a `250` (markSentPatiently keeps trying that long, so a short restart costs no
 * copy); or the connection dropped after the server had the whole message but before
 * its `250` reached us (SMTP's own ambiguity: we count it as not sent; one per lane).
 * Claimed digests a dead worker had not yet tried wait out the lease too and are then
 * sent once; their claim counts as one of SEND_MAX_ATTEMPTS. We chose this over
 * marking such digests `failed` for an operator because a lost digest is a silent
 * failure nobody resends, while a rare same-Message-ID copy is harmless.
 */
import type pg from "pg";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { listHeaders } from "../mail/list-headers.js";
import type { MimeWriter } from "../mail/mime.js";
import { createAcceptanceRecorder } from "./acceptances.js";
import { loadBatchPapers } from "./batch-papers.js";
import type { DigestInput, DigestPaper } from "./digest-input.js";
import type { DigestRenderer, RenderedDigest } from "./render.js";

export interface SendSettings {
  mailDomain: string;
  listId: string;
  listUnsubscribeMailto?: string | undefined;
  /**
   * Claims of one digest that ended without an answer (its worker died mid-send) before
   * it is `failed` instead of taken over again. Server-busy replies do not count.
   */
  maxAttempts: number;
  /** Permanent bounces before the subscriber is suppressed. */
  bounceLimit: number;
  /** How long a claim holds before another worker may take the digest over. */
  leaseMs: number;
  /** Digests of one batch in flight at once (each lane sends one at a time). */
  lanes: number;
  /** Pace of this batch in emails per second; undefined = as fast as SMTP takes them. */
  ratePerSecond?: number | undefined;
  /**
   * K: digests a lane claims in one statement, and acceptances recorded `sent` in one
   * statement. At most K × lanes accepted digests of a batch are unrecorded at any time
   * (the crash bound). Default 1: one claim and one mark per email.
   */
  groupSize?: number | undefined;
  /** A smaller group of acceptances is recorded once its first has waited this long. */
  groupIntervalMs?: number | undefined;
}

export interface SendDeps {
  /** Raw pool: the per-digest statements are named (prepared once per connection). */
  pool: pg.Pool;
  mailer: Mailer;
  renderer: DigestRenderer;
  /** The fast MIME writer; null (MAIL_FAST_PATHS=false) composes every digest with nodemailer. */
  mime: MimeWriter | null;
  logger: Logger;
  settings: SendSettings;
}

export interface BatchOptions {
  /** Once aborted (shutdown), lanes claim nothing new; what is in flight finishes and is marked. */
  signal?: AbortSignal | undefined;
}

export interface BatchResult {
  sent: number;
  skipped: number;
  bounced: number;
  failed: number;
  /** Back to `queued` after a transient failure (no attempt spent): the batch should run again later. */
  deferred: number;
  /** Left `queued` without being tried: the batch was throttled or stopped. */
  held: number;
  /** Every lane met a transient failure in a row: the server is busy, so the batch stopped claiming. */
  throttled: boolean;
  /** The last transient failure, for the log and for the digests' error when the caller gives up. */
  transientError?: string | undefined;
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

/**
 * nodemailer's name for the command a session's setup, or our sender address, failed on. A
 * 5xx there (a 554 greeting, a 535 to a wrong SMTP password, a 530 to MAIL FROM without one)
 * refuses us, not the recipient: bouncing would mark every subscriber of the run bounced.
 */
const SESSION_SETUP = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL FROM)\b/;

/** 5xx replies to a message are permanent; 4xx replies, refusals of the session, dropped connections, timeouts and anything unknown are transient. */
export function classifySmtpError(err: unknown): SmtpOutcome {
  const e = err as { responseCode?: unknown; code?: unknown; command?: unknown };
  if (e.code === "EAUTH" || (typeof e.command === "string" && SESSION_SETUP.test(e.command))) return "transient";
  const code = e.responseCode;
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

/**
 * The lane's next digests ($1), queued → sending, or `sending` ones whose lease ran out
 * (their worker died) and that have attempts left, in one statement. Rows are locked in
 * id order, so two workers claiming overlapping ids wait for each other instead of deadlocking.
 */
const CLAIM_SQL = `
with c as (
  select id from digests
  where id = any($1::bigint[])
    and (status = 'queued' or (status = 'sending' and attempts < $3::int
         and claimed_at < now() - make_interval(secs => $2::double precision / 1000)))
  order by id for update
)
update digests d set status = 'sending', claimed_at = now(), attempts = d.attempts + 1, updated_at = now()
from c, subscribers s
where d.id = c.id and s.id = d.subscriber_id
returning d.id, to_char(d.period, 'YYYY-MM-DD') as period, d.subscriber_id, s.email, s.status as subscriber_status,
  s.paused_at is not null as paused, s.erased_at is not null as erased, s.token_version, s.feed_version, s.frequency, s.timezone,
  extract(epoch from d.created_at)::float8 * 1000 as created_ms`;

/** A group of accepted digests ($1) with their Message-IDs ($2), marked sent in one statement. */
const SENT_SQL = `update digests d set status = 'sent', message_id = u.message_id, sent_at = now(), error = null, updated_at = now()
from unnest($1::bigint[], $2::text[]) as u(id, message_id)
where d.id = u.id and d.status = 'sending'`;

const SKIP_SQL = `update digests set status = 'skipped', error = $2, claimed_at = null, updated_at = now()
where id = $1 and status = 'sending'`;

/** Back to queued; the claim's attempt is given back, because a busy server says nothing about the digest. */
const TRANSIENT_SQL = `update digests set status = 'queued', attempts = greatest(attempts - 1, 0), error = $2, claimed_at = null, updated_at = now()
where id = $1 and status = 'sending'`;

/** Claims let go unsent (shutdown, a busy server, the pace wait cut short): back to queued as if never claimed. */
const RELEASE_SQL = `update digests set status = 'queued', attempts = greatest(attempts - 1, 0), claimed_at = null, updated_at = now()
where id = any($1::bigint[]) and status = 'sending'`;

/** Digests of a batch the caller gives up on (the retry window ran out): still queued → failed. */
const GIVE_UP_SQL = `update digests set status = 'failed', error = $2, claimed_at = null, updated_at = now()
where id = any($1::bigint[]) and status = 'queued'`;

/** A digest that cannot be built (a data or template fault): failed with its attempts used up, so the sweep does not retry it. */
const UNRENDERABLE_SQL = `update digests set status = 'failed', error = $2, attempts = greatest(attempts, $3::int), claimed_at = null, updated_at = now()
where id = $1 and status = 'sending'`;

/** A digest whose claims keep dying with their worker (SEND_MAX_ATTEMPTS of them): failed, not taken over again. */
const ABANDON_SQL = `update digests set status = 'failed', claimed_at = null, updated_at = now(),
  error = 'the worker sending it stopped ' || attempts || ' times before the server answered'
where id = any($1::bigint[]) and status = 'sending' and attempts >= $3::int
  and claimed_at < now() - make_interval(secs => $2::double precision / 1000)`;

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

export interface DigestSender {
  sendBatch(digestIds: number[], opts?: BatchOptions): Promise<BatchResult>;
  /** Gives up on the digests of a batch that are still queued: `failed` with `reason`. Returns how many. */
  failQueued(digestIds: number[], reason: string): Promise<number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits `ms`, or less if `signal` aborts first; true when the whole wait passed. */
function waitUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return sleep(ms).then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (full: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(full);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function createDigestSender(deps: SendDeps): DigestSender {
  const { pool, mailer, renderer, mime, logger, settings } = deps;
  const list = listHeaders({ listId: settings.listId, mailto: settings.listUnsubscribeMailto });

  /** The digest as one email; throws only for a fault of this digest (its data, our templates), never for SMTP. */
  function compose(c: ClaimRow, papers: DigestPaper[], render: (d: DigestInput) => RenderedDigest): () => Promise<unknown> {
    const email = c.email ?? "";
    const rendered = render({
      digestId: c.id,
      period: c.period,
      recipient: { subscriberId: c.subscriber_id, tokenVersion: c.token_version, feedVersion: c.feed_version, email, frequency: c.frequency, timezone: c.timezone },
      papers,
    });
    const messageId = messageIdFor(c.id, settings.mailDomain);
    if (mime?.canWrite(email)) {
      // The writer already holds list.fixed; only List-Unsubscribe differs per subscriber.
      const headers = list.unsubscribe(rendered.oneClickUrl);
      const raw = mime.build({ to: email, subject: rendered.subject, messageId, text: rendered.text, html: rendered.html, headers });
      return async () => {
        const sent = await mailer.sendRaw({ from: mime.envelopeFrom, to: email }, raw, messageId);
        // Reused only when every byte was out when the server answered; otherwise (an early answer,
        // a failure, a transport that cannot say) the memory is left to the GC.
        if (sent.flushed === true) mime.recycle(raw);
        return sent;
      };
    }
    // The plain path, and internationalised addresses (nodemailer's SMTPUTF8 handling).
    return () =>
      mailer.send({
        to: email,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        messageId,
        headers: list.all(rendered.oneClickUrl),
      });
  }

  /**
   * Marks a group of accepted digests sent. While Postgres is away (a restart) it keeps
   * trying for half the lease: nobody else may claim the digests before their lease runs
   * out, so a mark written late is still right, and a short outage costs no copy.
   */
  async function markSentPatiently(ids: number[]): Promise<void> {
    const messageIds = ids.map((id) => messageIdFor(id, settings.mailDomain));
    const deadline = Date.now() + settings.leaseMs / 2;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await pool.query({ name: "digest_sent", text: SENT_SQL, values: [ids, messageIds] });
        return;
      } catch (err) {
        if (Date.now() + wait > deadline) {
          logger.error(
            { digestIds: ids, err: (err as Error).message },
            "could not mark accepted digests sent; after their lease they are sent again with the same Message-ID",
          );
          throw err;
        }
        await sleep(wait);
      }
    }
  }

  return {
    async failQueued(digestIds, reason) {
      if (digestIds.length === 0) return 0;
      const r = await pool.query({ name: "digest_give_up", text: GIVE_UP_SQL, values: [digestIds, reason.slice(0, 500)] });
      return r.rowCount ?? 0;
    },

    async sendBatch(digestIds, opts = {}) {
      const ids = [...new Set(digestIds)];
      const result: BatchResult = {
        sent: 0,
        skipped: 0,
        bounced: 0,
        failed: 0,
        deferred: 0,
        held: 0,
        throttled: false,
        leased: 0,
        leaseWaitMs: 0,
        done: 0,
        sentLagSeconds: [],
      };
      if (ids.length === 0) return result;
      const { signal } = opts;
      // Read while the lanes claim their first groups: a batch's start does not wait for Postgres twice.
      const papersLoaded = loadBatchPapers(pool, ids);
      // Awaited by every digest it is built for; a failure reaches each of them there.
      papersLoaded.catch(() => undefined);
      const render = renderer.batch();
      const unclaimed: number[] = [];
      const interval = settings.ratePerSecond ? 1000 / settings.ratePerSecond : 0;
      const lanes = Math.max(1, Math.min(settings.lanes, ids.length));
      const groupSize = Math.max(1, settings.groupSize ?? 1);
      const recorder = createAcceptanceRecorder({
        group: groupSize,
        intervalMs: settings.groupIntervalMs ?? 5,
        limit: groupSize * lanes,
        write: markSentPatiently,
      });
      let nextSlot = Date.now();
      let cursor = 0;
      /** Transient failures since the last acceptance; at `lanes` the server is busy for all of them. */
      let busyInARow = 0;
      /** A lane hit a database error: the others stop claiming, so the batch ends as one. */
      let broken = false;
      const stopClaiming = () => result.throttled || broken || signal?.aborted === true;

      /** Waits for this email's slot at the batch's pace; false when shutdown cut the wait short. */
      const pace = async (): Promise<boolean> => {
        if (!interval) return true;
        const now = Date.now();
        const at = Math.max(nextSlot, now);
        nextSlot = at + interval;
        return at > now ? waitUnlessAborted(at - now, signal) : true;
      };

      /** Sends one claimed digest; false when the lane should stop (the digest was released, not sent). */
      const one = async (c: ClaimRow): Promise<boolean> => {
        const id = c.id;
        const reason = skipReason(c);
        if (reason) {
          await pool.query({ name: "digest_skip", text: SKIP_SQL, values: [id, reason] });
          result.skipped++;
          return true;
        }
        if (!(await pace())) return false;
        // A batch whose papers cannot be read fails as a database error, before anything is sent.
        const papers = await papersLoaded;
        let transmit: () => Promise<unknown>;
        try {
          transmit = compose(c, papers.get(id) ?? [], render);
        } catch (err) {
          // Not the server's fault, and no retry will fix it: failed with every attempt used, so the sweep leaves it to an operator.
          await pool.query({ name: "digest_unrenderable", text: UNRENDERABLE_SQL, values: [id, `could not build the email: ${describe(err)}`, settings.maxAttempts] });
          result.failed++;
          logger.error({ digestId: id, err: describe(err) }, "digest could not be built; failed");
          return true;
        }
        await recorder.reserve();
        try {
          await transmit();
        } catch (err) {
          recorder.release();
          const detail = describe(err);
          if (classifySmtpError(err) === "permanent") {
            const r = await pool.query<{ status: string }>({ name: "digest_bounce", text: BOUNCE_SQL, values: [id, detail, settings.bounceLimit] });
            result.bounced++;
            logger.warn({ digestId: id, subscriberId: c.subscriber_id, subscriberStatus: r.rows[0]?.status, detail }, "digest bounced");
          } else {
            await pool.query({ name: "digest_transient", text: TRANSIENT_SQL, values: [id, detail] });
            result.deferred++;
            result.transientError = detail;
            if (++busyInARow >= lanes) result.throttled = true;
            logger.debug({ digestId: id, detail }, "digest deferred: the server is busy or away");
          }
          return true;
        }
        recorder.accepted(id);
        busyInARow = 0;
        result.sent++;
        result.sentLagSeconds.push(Math.max(0, (Date.now() - c.created_ms) / 1000));
        return true;
      };

      /** Claims the lane's next group in one statement, in the batch's order; ids not claimed are noted. */
      const claim = async (group: number[]): Promise<ClaimRow[]> => {
        const { rows } = await pool.query<ClaimRow>({ name: "digest_claim", text: CLAIM_SQL, values: [group, settings.leaseMs, settings.maxAttempts] });
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        const claimed: ClaimRow[] = [];
        for (const id of group) {
          const row = byId.get(id);
          if (row) claimed.push(row);
          else unclaimed.push(id);
        }
        return claimed;
      };

      /** Claimed digests a lane lets go unsent: back to `queued`, counted as held. */
      const release = async (rows: ClaimRow[]) => {
        if (rows.length === 0) return;
        result.held += rows.length;
        await pool.query({ name: "digest_release", text: RELEASE_SQL, values: [rows.map((r) => r.id)] });
      };

      /** Takes the lane's next group off the batch and claims it; null when none is left or the batch stopped claiming. */
      const nextGroup = (): Promise<ClaimRow[]> | null => {
        if (cursor >= ids.length || stopClaiming()) return null;
        const group = ids.slice(cursor, cursor + groupSize);
        cursor += group.length;
        const claimed = claim(group);
        // Awaited in its turn; a failure is the lane's when it gets there.
        claimed.catch(() => undefined);
        return claimed;
      };

      const lane = async () => {
        let ahead = nextGroup();
        /** The group claimed ahead goes back too when the lane stops early. */
        const releaseAhead = async () => {
          const waiting = ahead;
          ahead = null;
          if (waiting) await release(await waiting);
        };
        while (ahead) {
          let claimed: ClaimRow[];
          try {
            claimed = await ahead;
          } catch (err) {
            broken = true;
            throw err;
          }
          // The next group is claimed while this one is sent: the lane's SMTP session does not wait on Postgres between groups.
          ahead = nextGroup();
          for (let i = 0; i < claimed.length; i++) {
            // A busy server, a shutdown or another lane's database error: what this lane claimed but did not send goes back.
            let carryOn = !stopClaiming();
            try {
              if (carryOn) carryOn = await one(claimed[i]!);
            } catch (err) {
              broken = true;
              await release(claimed.slice(i)).catch(() => undefined);
              await releaseAhead().catch(() => undefined);
              throw err;
            }
            if (!carryOn) {
              try {
                await release(claimed.slice(i));
                await releaseAhead();
              } catch (err) {
                broken = true;
                throw err;
              }
              return;
            }
          }
        }
      };
      // Settled, not raced: every lane has finished before the batch records its last group and returns or throws.
      const outcomes = await Promise.allSettled(Array.from({ length: lanes }, lane));
      // Whatever the server accepted is recorded even when a lane failed, so it is not sent again.
      const drained = await recorder.drain().then(
        () => null,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failure) throw failure.reason;
      if (drained) throw drained;
      result.held += ids.length - cursor;

      if (unclaimed.length > 0) {
        const abandoned = await pool.query({ name: "digest_abandon", text: ABANDON_SQL, values: [unclaimed, settings.leaseMs, settings.maxAttempts] });
        result.failed += abandoned.rowCount ?? 0;
        const { rows } = await pool.query<{ wait_ms: number; n: number }>({ name: "digest_leased", text: LEASED_SQL, values: [unclaimed, settings.leaseMs] });
        result.leased = rows[0]?.n ?? 0;
        result.leaseWaitMs = Math.max(0, Math.ceil(rows[0]?.wait_ms ?? 0));
        result.done = unclaimed.length - result.leased - (abandoned.rowCount ?? 0);
      }
      return result;
    },
  };
}

export interface ClaimableScan {
  /** Page by key: ids above this one. */
  afterId: number;
  limit: number;
  /** SEND_LEASE_MS: a `sending` digest claimed longer ago than this was left by a dead worker. */
  leaseMs: number;
  /**
   * Only queued digests nothing touched for this long (the sweep: a fresh one has a send
   * job on its way); 0, the default, takes every queued digest (the CLI's `send`).
   */
  queuedIdleMs?: number | undefined;
}

/**
 * The digests a send job could claim, by key (`id > afterId`): queued ones, and `sending`
 * ones whose lease ran out (their worker died). The one scan of the send state, for the
 * CLI's `send` and the hourly sweep; the claim itself decides (CLAIM_SQL).
 */
export async function claimableDigestIds(pool: pg.Pool, scan: ClaimableScan): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>({
    name: "digest_claimable",
    text: `select id from digests
     where id > $1
       and ((status = 'queued' and updated_at <= now() - make_interval(secs => $4::double precision / 1000))
         or (status = 'sending' and claimed_at < now() - make_interval(secs => $3::double precision / 1000)))
     order by id limit $2`,
    values: [scan.afterId, scan.limit, scan.leaseMs, scan.queuedIdleMs ?? 0],
  });
  return rows.map((r) => Number(r.id));
}
