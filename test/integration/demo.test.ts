import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EMAIL, runDemo } from "../../src/main/cli/demo.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { seedSubscriber } from "../helpers/digest-fixtures.js";
import { freePort } from "../helpers/free-port.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { spawnEntry } from "../helpers/spawn.js";

describe("npm run demo", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("loads the sample papers and sends one digest to the demo subscriber, saying where to read it", { timeout: 90_000 }, async () => {
    const demo = spawnEntry("src/main/cli.ts", ["demo"], runtimeEnv(rt));
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain("ingested 30 sample papers");
    expect(demo.output()).toMatch(/sent the demo digest: [1-9]\d* papers/);
    const [message] = await rt.sink.waitFor(1);
    expect(message?.envelope.to).toEqual([DEMO_EMAIL]);
    expect(message?.parsed.html).toContain("because you follow");
    expect(demo.output()).toMatch(/http:\/\/paperboy\.test\/digests\/\d+\?token=/);
  });

  it("plans and mails only its own subscriber, the same one every run, and leaves it paused", async () => {
    // A real subscriber, due at this very hour and following a topic the sample matches.
    const reader = await seedSubscriber(rt.pool, "reader@example.org");
    await rt.pool.query("update subscribers set send_hour = 0, timezone = 'UTC' where id = $1", [reader]);
    await rt.db.transaction((tx) => setSubscriberTopics(tx, reader, ["diffusion"]));
    const before = rt.sink.messages.length;

    const output: string[] = [];
    const first = await runDemo(rt, (t) => output.push(t));
    const second = await runDemo(rt, (t) => output.push(t));

    expect(second.subscriberId).toBe(first.subscriberId);
    // A re-run sends the sample's papers again: the demo forgets its earlier demo digests.
    expect(second.digestId).not.toBe(first.digestId);
    await rt.sink.waitFor(before + 2);
    expect(rt.sink.messages.slice(before).map((m) => m.envelope.to)).toEqual([[DEMO_EMAIL], [DEMO_EMAIL]]);
    const { rows } = await rt.db.execute<{ email: string; digests: number; paused: boolean }>(sql`
      select s.email, (select count(*)::int from digests d where d.subscriber_id = s.id) as digests, s.paused_at is not null as paused
      from subscribers s order by s.id`);
    expect(rows).toEqual([
      { email: DEMO_EMAIL, digests: 1, paused: true },
      { email: "reader@example.org", digests: 0, paused: false },
    ]);
    expect(output.join("")).toContain("is paused now");
  });

  // It printed "the demo digest was not sent: the SMTP server asked to try again later", then
  // "The digest went to demo@paperboy.localhost through SMTP_URL", and exited 0.
  it("with no SMTP server to take it, says the digest was not sent (and nothing else), and exits non-zero", { timeout: 90_000 }, async () => {
    const demo = spawnEntry("src/main/cli.ts", ["demo"], runtimeEnv(rt, { SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, SMTP_TIMEOUT_MS: "2000" }));
    expect(await demo.exited).toBe(1);
    expect(demo.output()).toContain("the demo digest was not sent: the SMTP server is busy or unreachable");
    expect(demo.output()).not.toContain("went to");
  });
});
