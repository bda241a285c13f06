import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSendBatches } from "../../src/jobs/producer.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { spawnEntry, type Spawned } from "../helpers/spawn.js";

const DIGESTS = 5000;

describe("scale-out: two worker processes share one run", () => {
  let rt: TestRuntime;
  let sink: SmtpSink;
  const workers: Spawned[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime({ MAIL_DOMAIN: "paperboy.test" });
    // Unparsed: this test counts Message-IDs, and parsing 5k messages would dominate its time.
    sink = await startSmtpSink({ parse: false });
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await sink?.close();
    await rt?.close();
  });

  it("sends every digest exactly once, and both processes do part of the work", { timeout: 240_000 }, async () => {
    await rt.pool.query(`
      insert into papers (arxiv_id, title, abstract, listing_day, arxiv_url, pdf_url, upvotes)
      select '2611.' || lpad(i::text, 5, '0'), 'Paper ' || i || ' on scalable diffusion', 'We study diffusion at scale.', '2026-11-27',
             'https://arxiv.org/abs/2611.' || i, 'https://arxiv.org/pdf/2611.' || i, i
      from generate_series(1, 3) i;
      insert into subscribers (email, status, confirmed_at)
      select 'reader' || i || '@example.org', 'active', now() from generate_series(1, ${DIGESTS}) i;
      insert into topics (query) values ('diffusion');
      insert into digests (subscriber_id, period, status, covers_to, paper_count, paper_ids, matches)
      select s.id, '2026-11-28', 'queued', now(), 3, x.ids, x.matches
      from subscribers s,
           (select array_agg(p.id order by p.id) as ids,
                   jsonb_agg(jsonb_build_object('score', 0.5, 'topics', jsonb_build_array(t.id), 'words', jsonb_build_array('diffus')) order by p.id) as matches
            from papers p, topics t where t.query = 'diffusion') x;`);
    const { rows } = await rt.pool.query<{ id: number }>("select id from digests order by id");

    const env = {
      ...runtimeEnv(rt, { SMTP_URL: sink.url }),
      MAIL_DOMAIN: "paperboy.test",
      SCHEDULER_ENABLED: "false",
      SEND_RATE_PER_SECOND: "100000",
      SEND_BATCH_SIZE: "100",
      LOG_LEVEL: "info",
      NODE_ENV: "production",
    };
    const metricsPorts = [0, 1].map(() => 20_000 + Math.floor(Math.random() * 20_000));
    for (const port of metricsPorts) workers.push(spawnEntry("src/main/worker.ts", [], { ...env, WORKER_METRICS_PORT: String(port) }));
    await Promise.all(workers.map((w) => w.waitForOutput(/worker started/, 60_000)));
    await enqueueSendBatches(rt.queues, rows.map((r) => r.id), 100);

    await sink.waitFor(DIGESTS, 200_000);
    const ids = sink.messages.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw.toString("latin1"))?.[1]);
    expect(new Set(ids).size).toBe(DIGESTS);
    expect(ids.every((id) => /^<digest-\d+@paperboy\.test>$/.test(id ?? ""))).toBe(true);

    // Nothing more arrives later: no digest is sent twice.
    await new Promise((r) => setTimeout(r, 1000));
    expect(sink.messages.length).toBe(DIGESTS);
    const statuses = await rt.pool.query("select status, count(*)::int as n from digests group by status");
    expect(statuses.rows).toEqual([{ status: "sent", n: DIGESTS }]);
    for (const w of workers) expect(w.output()).toMatch(/"msg":"send batch"/);

    // Each worker's own /metrics counts what it sent; together, every digest once.
    let sent = 0;
    for (const port of metricsPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const n = Number(/^paperboy_emails_total\{outcome="sent"\} (\d+)/m.exec(text)?.[1] ?? "NaN");
      expect(n).toBeGreaterThan(0);
      sent += n;
    }
    expect(sent).toBe(DIGESTS);

    for (const w of workers) w.child.kill("SIGTERM");
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
  });
});
