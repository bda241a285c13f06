import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestRow, seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";

const run = promisify(execFile);

describe("npm run cli -- send", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("sends every queued digest, skips the unsubscribed, and prints a summary", async () => {
    const seeded = await Promise.all([seedOne(rt.pool), seedOne(rt.pool), seedOne(rt.pool, { status: "unsubscribed" })]);
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", "send"], {
      env: {
        ...process.env,
        // Logging on, as an operator runs it: the log lines go to stderr, stdout holds only the summary.
        NODE_ENV: "development",
        LOG_LEVEL: "debug",
        ...runtimeEnv(rt, { MAIL_DOMAIN: "paperboy.test" }),
      },
    });
    expect(stdout).toContain("send: 2 sent, 1 skipped");
    expect(stdout).not.toMatch(/"level":|"msg":/);
    expect(stderr).toMatch(/"msg":/);
    expect(rt.sink.messages.map((m) => m.parsed.messageId).sort()).toEqual(
      seeded.slice(0, 2).map((s) => `<digest-${s.digestId}@paperboy.test>`).sort(),
    );
    expect((await digestRow(rt.pool, seeded[2].digestId)).status).toBe("skipped");
  });

  it("plan counts every send job it enqueued, though two chunks enqueue side by side", { timeout: 120_000 }, async () => {
    // Over 4,000 due subscribers: two plan chunks at once, each enqueueing its own send jobs.
    await rt.pool.query(`
      insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes, first_seen_at)
      values ('2611.99001', 'Trending diffusion', 'We study diffusion.', current_date, 'https://arxiv.org/abs/2611.99001',
              'https://arxiv.org/pdf/2611.99001', 50, now() - interval '1 hour');
      insert into subscribers (email, status, confirmed_at, send_hour, send_when_empty)
      select 'planner' || i || '@example.org', 'active', now(), 0, true from generate_series(1, 4100) i;`);
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", "plan"], {
      env: { ...process.env, NODE_ENV: "test", ...runtimeEnv(rt), SEND_BATCH_SIZE: "10" },
    });
    expect(stdout).toMatch(/queued for sending\s+[1-9]/);
    const printed = Number(/queued for sending\s+(\d+) \((\d+) send jobs\)/.exec(stdout)?.[2]);
    const queued = Number(/queued for sending\s+(\d+)/.exec(stdout)?.[1]);
    expect(queued).toBeGreaterThanOrEqual(4100);
    const counts = await rt.queues.send.getJobCounts("waiting", "prioritized", "delayed");
    const inQueue = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
    expect(inQueue).toBeGreaterThanOrEqual(Math.ceil(queued / 10));
    expect(printed).toBe(inQueue);
  });
});
