import { createServer } from "node:net";
import { QueueEvents, type Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { papers } from "../../src/db/schema.js";
import { enqueueBootIngest } from "../../src/jobs/producer.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { createIngestHandler } from "../../src/jobs/ingest.js";
import type { IngestJob } from "../../src/jobs/queues.js";
import { startWorkers, type Workers } from "../../src/jobs/workers.js";
import { startRecordedServer, type RecordedServer } from "../helpers/recorded-http.js";
import { capturingLogger, fakeClock } from "../helpers/papers.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** A port nothing listens on: connecting to it is refused at once, as for a host that cannot be reached. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 1;
}

const job = (data: IngestJob = {}) => ({ id: "test", data }) as Job<IngestJob>;

describe("a first start without the internet", () => {
  let rt: TestRuntime;
  let upstream: RecordedServer;
  beforeAll(async () => {
    rt = await createTestRuntime();
    upstream = await startRecordedServer();
  });
  afterAll(async () => {
    await upstream?.close();
    await rt?.close();
  });

  it("says once, in words, that Hugging Face cannot be reached and how to run on the bundled sample", async () => {
    const { logger, lines } = capturingLogger();
    const config = { ...rt.config, PAPERS_SOURCES: ["huggingface"], HF_API_URL: `http://127.0.0.1:${await closedPort()}` };
    const ingest = createIngestHandler({ config, db: rt.db, logger }, { clock: fakeClock() });
    // The boot ingest and two scheduled ones: every one fails, the hint comes once.
    for (let i = 0; i < 3; i++) await expect(ingest(job())).rejects.toThrow(/ECONNREFUSED/);
    const hints = lines().filter((l) => String(l.msg).includes("PAPERS_SOURCES=file:data/sample"));
    expect(hints).toHaveLength(1);
    expect(hints[0]!.msg).toMatch(/^huggingface \(127\.0\.0\.1:\d+\) cannot be reached: no network\?/);
    expect(hints[0]!.level).toBe(40);
  });

  it("gives no offline hint when the source answers, even with an error", async () => {
    const { logger, lines } = capturingLogger();
    upstream.route("/api/daily_papers", { status: 503, body: "upstream down" });
    const config = { ...rt.config, PAPERS_SOURCES: ["huggingface"], HF_API_URL: upstream.url };
    const ingest = createIngestHandler({ config, db: rt.db, logger }, { clock: fakeClock() });
    await expect(ingest(job({ day: "2026-11-27" }))).rejects.toThrow(/answered 503/);
    expect(lines().some((l) => String(l.msg).includes("cannot be reached"))).toBe(false);
  });

  it("fails a job for a file source that does not exist for good, with one message naming the path", async () => {
    const { logger } = capturingLogger();
    const ingest = createIngestHandler({ config: { ...rt.config, PAPERS_SOURCES: ["file:data/nowhere"] }, db: rt.db, logger });
    const err = await ingest(job()).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe("UnrecoverableError");
    expect(err?.message).toMatch(/^file:data\/nowhere: no such file or folder: \/.*\/data\/nowhere$/);
  });
});

describe("the boot ingest of npm start", () => {
  let rt: TestRuntime;
  let workers: Workers;
  let events: QueueEvents;
  beforeAll(async () => {
    rt = await createTestRuntime({ PAPERS_SOURCES: "file:data/sample" });
    events = new QueueEvents("ingest", { connection: rt.bullConnection.duplicate(), prefix: rt.prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await workers?.close();
    await events?.close();
    await rt?.close();
  });

  it("runs for the configured source after a restart in the same hour with another source", async () => {
    // The first start, on Hugging Face (its process would have run the job; here nobody does).
    const first = await enqueueBootIngest(rt.queues, ["huggingface"], new Date("2026-11-29T21:05:00Z"));
    expect(first.added).toBe(true);
    // A restart this hour on the sample asks again, for the sample.
    const restart = await enqueueBootIngest(rt.queues, rt.config.PAPERS_SOURCES, new Date("2026-11-29T21:45:00Z"));
    expect(restart.added).toBe(true);
    expect(restart.jobId).not.toBe(first.jobId);
    expect(restart.jobId).toContain("file%3Adata%2Fsample");
    await (await rt.queues.ingest.getJob(first.jobId))?.remove();

    // A worker with this configuration runs it: the sample's papers arrive.
    workers = startWorkers({ ingest: createJobHandlers(rt).ingest }, { connection: rt.bullConnection, prefix: rt.prefix, logger: rt.logger, sendConcurrency: 1 });
    await (await rt.queues.ingest.getJob(restart.jobId))!.waitUntilFinished(events);
    expect(await rt.db.$count(papers)).toBe(30);

    // The same source again in the same hour adds nothing: it already ran.
    expect(await enqueueBootIngest(rt.queues, rt.config.PAPERS_SOURCES, new Date("2026-11-29T21:59:00Z"))).toEqual({ jobId: restart.jobId, added: false });
  });

  it("tries again at the next start when this hour's boot ingest failed for good", async () => {
    await workers.close();
    const config = { ...rt.config, PAPERS_SOURCES: ["file:data/nowhere"] };
    workers = startWorkers({ ingest: createJobHandlers({ ...rt, config }).ingest }, { connection: rt.bullConnection, prefix: rt.prefix, logger: rt.logger, sendConcurrency: 1 });
    const at = new Date("2026-11-30T08:00:00Z");
    const first = await enqueueBootIngest(rt.queues, config.PAPERS_SOURCES, at);
    await expect((await rt.queues.ingest.getJob(first.jobId))!.waitUntilFinished(events)).rejects.toThrow(/no such file or folder/);
    expect(await enqueueBootIngest(rt.queues, config.PAPERS_SOURCES, at)).toEqual({ jobId: first.jobId, added: true });
  });
});
