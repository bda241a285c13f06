import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDigestSender } from "../../src/digests/sender.js";
import { seedOne } from "../helpers/digest-fixtures.js";
import { pgClient } from "../helpers/db.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { messageId, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

const DIGESTS = 8;
/** The database goes away while the relay holds this message, and stays away this long after the 250. */
const OUTAGE_AT = 3;
const OUTAGE_MS = 1500;

/**
 * One claim per email (SEND_GROUP_SIZE=1): a lane claims its next digest while it sends
 * one, so the digest claimed before the outage is sent too, and the claim after it meets
 * the outage and ends the batch. Grouped (16, more than the batch): every digest is claimed before the outage, so
 * the batch sends them all while the group's mark waits for the database.
 */
describe.each([
  { group: "1", batchEnds: "rejects" },
  { group: "16", batchEnds: "resolves" },
])("Postgres away right after the relay accepted a digest, with the worker alive (SEND_GROUP_SIZE=$group)", ({ group, batchEnds }) => {
  let rt: TestRuntime;
  let relay: SmtpSink;
  let outage: Promise<void> | undefined;

  /** Refuses every connection to this file's database (superusers too) and cuts the open ones, for `ms`. */
  async function databaseAway(name: string, ms: number, onCut: () => void): Promise<void> {
    const admin = pgClient();
    await admin.connect();
    try {
      await admin.query(`alter database "${name}" allow_connections false`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
      onCut();
      await new Promise((r) => setTimeout(r, ms));
      await admin.query(`alter database "${name}" allow_connections true`);
    } finally {
      await admin.end();
    }
  }

  beforeAll(async () => {
    relay = await startSmtpSink({ parse: false });
    // The 250 of the OUTAGE_AT-th message goes out while the database is already gone: the sender cannot mark it at once.
    relay.respond(({ count }) =>
      count === OUTAGE_AT ? new Promise((answer) => (outage = databaseAway(rt.database.name, OUTAGE_MS, () => answer(undefined)))) : undefined,
    );
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test", SMTP_URL: relay.url, SMTP_POOL_SIZE: "1", SEND_CONCURRENCY: "1", SEND_RATE_PER_SECOND: "100000", SEND_GROUP_SIZE: group });
  });
  afterAll(async () => {
    await outage;
    // The runtime first: it closes the pooled SMTP connection the relay would otherwise wait for.
    await rt?.close();
    await relay?.close();
  });

  const accepted = () => relay.messages.map(messageId);

  it("marks it sent once the database is back: no copy, nothing lost", { timeout: 60_000 }, async () => {
    const ids: number[] = [];
    for (let i = 0; i < DIGESTS; i++) ids.push((await seedOne(rt.pool, { email: `pgaway${i}@example.org`, papers: 1 })).digestId);
    const sender = buildDigestSender(rt, rt.renderer);
    if (batchEnds === "rejects") {
      // The batch ends with the database error (its job would be retried); what was accepted is marked.
      await expect(sender.sendBatch(ids)).rejects.toThrow();
      await outage;
      expect(accepted()).toHaveLength(OUTAGE_AT + 1);
    } else {
      // Nothing left to claim: the batch sends on while Postgres is away and marks its group once it is back.
      expect((await sender.sendBatch(ids)).sent).toBe(DIGESTS);
      await outage;
      expect(accepted()).toHaveLength(DIGESTS);
    }
    const marked = await rt.pool.query<{ message_id: string }>("select message_id from digests where status = 'sent'");
    expect(marked.rows.map((r) => r.message_id).sort()).toEqual(accepted().sort());

    // The job's retry sends the rest; the digest accepted during the outage is not sent again.
    const again = await sender.sendBatch(ids);
    expect(again.sent).toBe(DIGESTS - (batchEnds === "rejects" ? OUTAGE_AT + 1 : DIGESTS));
    expect(accepted().sort()).toEqual(ids.map((id) => `<digest-${id}@paperboy.test>`).sort());
    const statuses = await rt.pool.query<{ status: string; n: number }>("select status, count(*)::int as n from digests group by status");
    expect(statuses.rows).toEqual([{ status: "sent", n: DIGESTS }]);
  });
});
