import { UnrecoverableError, type Job } from "bullmq";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";
import type { IngestMetrics } from "../metrics.js";
import { isDay, recentDays } from "../days.js";
import { ingestPlanned, planRuns, type IngestRunResult } from "../papers/ingest.js";
import { SourceError, type PaperSource } from "../papers/paper.js";
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
  // A first start without internet fails every run; say once, in words, what is going on and what to do.
  let hinted = false;
  const hintOffline = (runs: IngestRunResult[]) => {
    const down = runs.find((r) => r.unreachable);
    if (hinted || !down) return;
    hinted = true;
    const base = down.source === "arxiv" ? deps.config.ARXIV_API_URL : down.source === "huggingface" ? deps.config.HF_API_URL : undefined;
    const where = base ? `${down.source} (${new URL(base).host})` : down.source;
    deps.logger.warn(
      { source: down.source },
      `${where} cannot be reached: no network? Ingest tries again at every scheduled run. ` +
        "To try paperboy offline, run it on the bundled sample papers: PAPERS_SOURCES=file:data/sample npm start",
    );
  };

  return async (job: Job<IngestJob>) => {
    const { day, source } = job.data;
    if (day !== undefined && !isDay(day)) throw new UnrecoverableError(`ingest job: day "${day}" is not a date (YYYY-MM-DD)`);
    if (source !== undefined && !SOURCE_SPEC.test(source)) {
      throw new UnrecoverableError(`ingest job: unknown source "${source}" (huggingface, arxiv or file:PATH)`);
    }
    const sources = (source ? [source] : deps.config.PAPERS_SOURCES).map(sourceFor);
    let plan;
    try {
      plan = await planRuns(sources, day ? [day] : undefined, recentDays(now(), deps.config.INGEST_TZ));
    } catch (err) {
      // A file source that is missing or unreadable stays so when retried a minute later.
      if (err instanceof SourceError) throw new UnrecoverableError(err.message);
      throw err;
    }
    const runs = await ingestPlanned({ db: deps.db, logger: deps.logger.child({ job: job.id }) }, plan, (run) =>
      deps.metrics?.papers(run.source, run.inserted),
    );
    hintOffline(runs);
    const failed = runs.filter((r) => r.status === "failed");
    if (failed.length > 0) {
      throw new Error(`ingest failed: ${failed.map((r) => `${r.day} ${r.error ?? "unknown error"}`).join("; ")}`);
    }
    return { runs: runs.map((r) => ({ runId: r.runId, source: r.source, day: r.day, inserted: r.inserted, updated: r.updated, skipped: r.skipped })) };
  };
}
