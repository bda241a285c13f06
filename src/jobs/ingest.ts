import { UnrecoverableError, type Job } from "bullmq";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";
import type { IngestMetrics } from "../metrics.js";
import { isDay, recentDays } from "../days.js";
import { ingestPlanned, planRuns } from "../papers/ingest.js";
import type { PaperSource } from "../papers/paper.js";
import { createSource, SOURCE_SPEC, type SourceDeps } from "../papers/sources/index.js";
import type { IngestJob } from "./queues.js";

export interface IngestHandlerDeps {
  config: Pick<Config, "PAPERS_SOURCES" | "INGEST_TZ"> & SourceDeps["config"];
  db: Db;
  logger: Logger;
  metrics?: IngestMetrics | undefined;
}

/**
 * The ingest job: {day?, source?}. Without a day it covers yesterday and today in
 * INGEST_TZ (a file source: every day it holds). A failed source run makes the job
 * throw, so BullMQ retries it; the runs that succeeded repeat harmlessly (upserts).
 */
export function createIngestHandler(deps: IngestHandlerDeps, extra: Omit<SourceDeps, "config"> & { now?: () => Date } = {}) {
  // Built once per process and kept: the arXiv limiter must span consecutive jobs.
  const built = new Map<string, PaperSource>();
  const sourceFor = (spec: string) => {
    let source = built.get(spec);
    if (!source) {
      source = createSource(spec, { ...extra, config: deps.config });
      built.set(spec, source);
    }
    return source;
  };
  const now = extra.now ?? (() => new Date());

  return async (job: Job<IngestJob>) => {
    const { day, source } = job.data;
    if (day !== undefined && !isDay(day)) throw new UnrecoverableError(`ingest job: day "${day}" is not a date (YYYY-MM-DD)`);
    if (source !== undefined && !SOURCE_SPEC.test(source)) {
      throw new UnrecoverableError(`ingest job: unknown source "${source}" (huggingface, arxiv or file:PATH)`);
    }
    const sources = (source ? [source] : deps.config.PAPERS_SOURCES).map(sourceFor);
    const plan = await planRuns(sources, day ? [day] : undefined, recentDays(now(), deps.config.INGEST_TZ));
    const runs = await ingestPlanned({ db: deps.db, logger: deps.logger.child({ job: job.id }) }, plan, (run) =>
      deps.metrics?.papers(run.source, run.inserted),
    );
    const failed = runs.filter((r) => r.status === "failed");
    if (failed.length > 0) {
      throw new Error(`ingest failed: ${failed.map((r) => `${r.day} ${r.error ?? "unknown error"}`).join("; ")}`);
    }
    return { runs: runs.map((r) => ({ runId: r.runId, source: r.source, day: r.day, inserted: r.inserted, updated: r.updated, skipped: r.skipped })) };
  };
}
