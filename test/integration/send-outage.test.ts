import { SMTPServer } from "smtp-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { buildDigestSender } from "../../src/digests/sender.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { sweepStaleDigests } from "../../src/jobs/sweep.js";
import { sendLimiter, startWorkers, type Workers } from "../../src/jobs/workers.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/**
 * The mail server busy (4xx) or away (connection refused) for longer than the whole
 * backoff of the old job retries (5 attempts: +5, 10, 20, 40 s, after which every
 * digest was `failed` for good), scaled down: the pause starts at 100 ms and is capped
 * at 800 ms, SEND_MAX_ATTEMPTS is 3, and the outage lasts 4 s — a dozen rounds.
 */
const SCALED = {
  MAIL_DOMAIN: "paperboy.test",
  SEND_RATE_PER_SECOND: "100000",
  SEND_BATCH_SIZE: "10",
  SEND_MAX_ATTEMPTS: "3",
  SEND_RETRY_DELAY_MS: "100",
  SEND_RETRY_MAX_DELAY_MS: "800",
  SEND_RETRY_WINDOW_MS: "60000",
};
const OUTAGE_MS = 4000;
const DIGESTS = 30;

/** A relay on a fixed port that can refuse connections (nothing listening) and come back. */
function relayOn(port: number) {
  const accepted: string[] = [];
  let server: SMTPServer | undefined;
  let busyUntil = 0;
  let busyReplies = 0;
  let silentUntil = 0;
  let silences = 0;
  return {
    accepted,
    busyReplies: () => busyReplies,
    /** Answers 450 to every message until `ms` from now. */
    busyFor(ms: number) {
      busyUntil = Date.now() + ms;
    },
    silences: () => silences,
    /** Takes each whole message and then never answers it until `ms` from now (a stalled provider). */
    silentFor(ms: number) {
      silentUntil = Date.now() + ms;
    },
    async up() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS", "AUTH"],
        disableReverseLookup: true,
        logger: false,
        onData(stream, _session, callback) {
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            if (Date.now() < silentUntil) {
              silences++;
              return;
            }
            if (Date.now() < busyUntil) {
              busyReplies++;
              callback(Object.assign(new Error("4.7.1 Rate limited, try again later"), { responseCode: 450 }));
              return;
            }
            accepted.push(/^Message-ID:\s*(\S+)/im.exec(Buffer.concat(chunks).toString("latin1"))?.[1] ?? "?");
            callback();
          });
        },
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, "127.0.0.1", () => resolve());
      });
    },
    /** Stops listening and drops every open connection: new ones are refused. */
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const conn of (s as unknown as { connections: Set<{ close(): void }> }).connections) conn.close();
      await closed;
    },
  };
}

async function freePort(): Promise<number> {
  const s = new SMTPServer({ disableReverseLookup: true, logger: false });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  const address = s.server.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 0;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("send through a mail server outage", () => {
  let rt: TestRuntime;
  let relay: ReturnType<typeof relayOn>;
  let workers: Workers | undefined;

  beforeAll(async () => {
    const port = await freePort();
    relay = relayOn(port);
    await relay.up();
    rt = await createTestRuntime({ ...SCALED, SMTP_URL: `smtp://127.0.0.1:${port}` });
  });
  afterEach(async () => {
    await workers?.close();
    workers = undefined;
    await rt.pool.query("delete from digests");
    relay.accepted.length = 0;
  });
  afterAll(async () => {
    await relay?.down();
    await rt?.close();
  });

  const start = () =>
    (workers = startWorkers(createJobHandlers({ ...rt, sender: buildDigestSender(rt, rt.renderer) }), {
      connection: rt.bullConnection,
      prefix: rt.prefix,
      logger: rt.logger,
      sendConcurrency: 2,
      sendLimiter: sendLimiter(100_000, 10),
    }));

  let seeded = 0;
  async function seed(n: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await seedOne(rt.pool, { email: `outage${++seeded}@example.org`, papers: 1 })).digestId);
    return ids;
  }

  const statuses = async () =>
    (await rt.pool.query<{ status: string; n: number }>("select status, count(*)::int as n from digests group by status order by status")).rows;

  const expectEachSentOnce = async (ids: number[]) => {
    expect([...relay.accepted].sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
    expect(await statuses()).toEqual([{ status: "sent", n: ids.length }]);
    // A busy or absent server spent no attempt of any digest: each was claimed once, when it went out.
    const attempts = await rt.pool.query<{ attempts: number }>("select distinct attempts from digests");
    expect(attempts.rows).toEqual([{ attempts: 1 }]);
  };

  it("a server answering 450 for longer than the old backoff costs nothing: every digest sent once, none failed", { timeout: 60_000 }, async () => {
    const ids = await seed(DIGESTS);
    relay.busyFor(OUTAGE_MS);
    const busyBefore = relay.busyReplies();
    start();
    await enqueueSendBatches(rt.queues, ids, 10);
    await until(async () => relay.accepted.length >= DIGESTS, 45_000);
    await new Promise((r) => setTimeout(r, 500));
    await expectEachSentOnce(ids);
    // Paused, not hammered: each round meets the busy server on a few digests, not on every
    // digest of every batch (which is what spending attempts on it used to cost: 30 a round).
    const rounds = Math.ceil(OUTAGE_MS / 100);
    expect(relay.busyReplies() - busyBefore).toBeGreaterThan(0);
    expect(relay.busyReplies() - busyBefore).toBeLessThan(rounds * 3);
  });

  it("a relay refusing connections for longer than the old backoff costs nothing", { timeout: 60_000 }, async () => {
    const ids = await seed(DIGESTS);
    await relay.down();
    start();
    await enqueueSendBatches(rt.queues, ids, 10);
    // Refused while down: digests go back to the queue, none is failed or sent.
    await until(async () => (await rt.pool.query("select 1 from digests where error ~* 'ECONNREFUSED|connect'")).rows.length > 0, 20_000);
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    // A retry round claims the digests for the few milliseconds it takes to be refused again: between
    // rounds every one is back in the queue, and none is ever failed or sent.
    await until(async () => {
      const now = (await statuses()).map((s) => s.status);
      expect(now.filter((s) => s !== "queued" && s !== "sending")).toEqual([]);
      return now.length === 1 && now[0] === "queued";
    }, 5_000);
    await relay.up();
    await until(async () => relay.accepted.length >= DIGESTS, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    await expectEachSentOnce(ids);
  });

  it("a server that takes each message and then stops answering costs nothing: the lane times out and the digest is sent later", { timeout: 60_000 }, async () => {
    const ids = await seed(10);
    // Its own worker with a short SMTP_TIMEOUT_MS, on the same database and relay.
    const quickRt = await createTestRuntime({ ...SCALED, SMTP_URL: rt.config.SMTP_URL!, SMTP_TIMEOUT_MS: "2000" });
    try {
      const handlers = createJobHandlers({ ...quickRt, pool: rt.pool, db: rt.db, sender: buildDigestSender({ ...quickRt, pool: rt.pool }, quickRt.renderer) });
      relay.silentFor(OUTAGE_MS);
      const before = relay.silences();
      workers = startWorkers(handlers, { connection: quickRt.bullConnection, prefix: quickRt.prefix, logger: quickRt.logger, sendConcurrency: 2, sendLimiter: sendLimiter(100_000, 10) });
      await enqueueSendBatches(quickRt.queues, ids, 10);
      // While silent nothing is accepted, and the unanswered digests go back to the queue.
      await until(async () => (await rt.pool.query("select 1 from digests where status = 'queued' and error ~* 'timeout'")).rows.length > 0, 20_000);
      expect(relay.accepted).toEqual([]);
      await until(async () => relay.accepted.length >= ids.length, 45_000);
      await new Promise((r) => setTimeout(r, 500));
      await expectEachSentOnce(ids);
      expect(relay.silences() - before).toBeGreaterThan(0);
    } finally {
      await workers?.close();
      workers = undefined;
      await quickRt.close();
    }
  });

  it("after the retry window the digests are failed, and the sweep sends them again within their period", { timeout: 60_000 }, async () => {
    const ids = await seed(10);
    // A digest from a period that is over (planned two days ago) stays failed.
    const old = (await seed(1))[0]!;
    await rt.pool.query("update digests set created_at = now() - interval '2 days' where id = $1", [old]);
    const windowRt = await createTestRuntime({ ...SCALED, SMTP_URL: rt.config.SMTP_URL!, SEND_RETRY_WINDOW_MS: "1500" });
    try {
      // The same database as the main runtime: the short-window worker works on these digests.
      const handlers = createJobHandlers({ ...windowRt, pool: rt.pool, db: rt.db, sender: buildDigestSender({ ...windowRt, pool: rt.pool }, windowRt.renderer) });
      workers = startWorkers(handlers, { connection: windowRt.bullConnection, prefix: windowRt.prefix, logger: windowRt.logger, sendConcurrency: 1, sendLimiter: sendLimiter(100_000, 10) });
      relay.busyFor(60_000);
      await enqueueSendBatches(windowRt.queues, [...ids, old], 11);
      await until(async () => (await statuses()).every((s) => s.status === "failed"), 30_000);
      const failed = await rt.pool.query<{ attempts: number; error: string }>("select attempts, error from digests");
      expect(failed.rows.every((r) => r.attempts === 0 && /retry window.*450/.test(r.error))).toBe(true);

      relay.busyFor(0);
      const swept = await sweepStaleDigests(rt.pool, windowRt.jobs, { staleMs: 3_600_000, leaseMs: 120_000, maxAttempts: 3, batchSize: 10, now: new Date() });
      expect(swept).toBe(10);
      await until(async () => relay.accepted.length >= 10, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      expect([...relay.accepted].sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
      const after = await rt.pool.query<{ id: number; status: string }>("select id, status from digests order by id");
      expect(after.rows).toEqual([...ids.map((id) => ({ id, status: "sent" })), { id: old, status: "failed" }]);
    } finally {
      await workers?.close();
      workers = undefined;
      await windowRt.close();
    }
  });
});
