import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueEvents } from "bullmq";
import { asc } from "drizzle-orm";
import { ingestRuns, papers } from "../../src/db/schema.js";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import { startWorkers, type Workers } from "../../src/jobs/workers.js";
import { recentDays } from "../../src/days.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { startRecordedServer, type RecordedServer } from "../helpers/recorded-http.js";
import { hfEntry } from "../helpers/papers.js";

describe("the ingest job", () => {
  let server: RecordedServer;
  let rt: TestRuntime;
  let workers: Workers;
  let events: QueueEvents;

  beforeAll(async () => {
    server = await startRecordedServer();
    rt = await createTestRuntime({ PAPERS_SOURCES: "huggingface", HF_API_URL: server.url, INGEST_TZ: "Pacific/Auckland" });
    const { ingest } = createJobHandlers(rt);
    workers = startWorkers({ ingest }, { connection: rt.bullConnection, prefix: rt.prefix, logger: rt.logger, sendConcurrency: 1 });
    events = new QueueEvents("ingest", { connection: rt.bullConnection.duplicate(), prefix: rt.prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await workers?.close();
    await events?.close();
    await rt?.close();
    await server?.close();
  });

  it("without a day ingests yesterday and today in INGEST_TZ from the configured sources", async () => {
    // One paper per day asked, its id derived from the day: 2026-11-27 → 2611.11127.
    const idFor = (day: string) => `2611.1${day.slice(5, 7)}${day.slice(8, 10)}`;
    server.route("/api/daily_papers", (url) => ({ body: JSON.stringify([hfEntry(idFor(url.searchParams.get("date") ?? ""))]) }));
    const job = await rt.queues.ingest.add("ingest", {});
    const result = (await job.waitUntilFinished(events)) as { runs: { day: string; inserted: number }[] };
    const [yesterday = "", today = ""] = result.runs.map((r) => r.day);
    expect(recentDays(new Date(), "Pacific/Auckland")).toContain(today);
    expect(Date.parse(today) - Date.parse(yesterday)).toBe(86_400_000);
    expect(result.runs.map((r) => r.inserted)).toEqual([1, 1]);
    const rows = await rt.db.select().from(papers).orderBy(asc(papers.listingDay));
    expect(rows.map((r) => [r.arxivId, r.listingDay])).toEqual([
      [idFor(yesterday), yesterday],
      [idFor(today), today],
    ]);
  });

  it("throws when a source run fails, so BullMQ retries it, and the retry succeeds", async () => {
    server.route("/api/daily_papers", [
      { status: 200, headers: { "content-type": "text/html" }, body: "<html><title>502 Bad Gateway</title></html>" },
      { body: JSON.stringify([hfEntry("2611.50003")]) },
    ]);
    const job = await rt.queues.ingest.add("ingest", { day: "2026-11-20", source: "huggingface" }, { attempts: 2, backoff: { type: "fixed", delay: 10 } });
    await job.waitUntilFinished(events);
    const done = await rt.queues.ingest.getJob(job.id ?? "");
    expect(done?.attemptsMade).toBe(2);
    const runs = await rt.db.select().from(ingestRuns).orderBy(asc(ingestRuns.id));
    expect(runs.filter((r) => r.day === "2026-11-20").map((r) => r.status)).toEqual(["failed", "succeeded"]);
    expect((await rt.db.select().from(papers)).map((p) => p.arxivId)).toContain("2611.50003");
  });

  it("fails a job with a malformed day for good, without retrying", async () => {
    const job = await rt.queues.ingest.add("ingest", { day: "yesterday" }, { attempts: 3 });
    await expect(job.waitUntilFinished(events)).rejects.toThrow(/day "yesterday" is not a date/);
    const failed = await rt.queues.ingest.getJob(job.id ?? "");
    expect(failed?.attemptsMade).toBe(1);
  });
});
