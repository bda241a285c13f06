import { eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { ingestRuns } from "../db/schema.js";
import type { Logger } from "../logger.js";
import { describeIssues, paperSchema, SourceError, type InvalidEntry, type Paper, type PaperSource } from "./paper.js";
import { upsertPapers } from "./store.js";

export interface IngestDeps {
  db: Db;
  logger: Logger;
}

export interface IngestRunResult {
  runId: number;
  source: string;
  day: string;
  status: "succeeded" | "failed";
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
  error: string | null;
  /** The source gave no answer at all (see SourceError.unreachable). */
  unreachable: boolean;
  durationMs: number;
}

/**
 * Two entries with one arXiv id in a run (a page boundary shifting under us, or a
 * paper listed twice) become one: later values win, list fields are unioned.
 */
function dedupe(list: Paper[]): Paper[] {
  const byId = new Map<string, Paper>();
  for (const p of list) {
    const seen = byId.get(p.arxivId);
    if (!seen) {
      byId.set(p.arxivId, p);
      continue;
    }
    const union = (a: string[] | null, b: string[] | null) => (a || b ? [...new Set([...(a ?? []), ...(b ?? [])])] : null);
    byId.set(p.arxivId, {
      ...p,
      upvotes: seen.upvotes === null && p.upvotes === null ? null : Math.max(seen.upvotes ?? 0, p.upvotes ?? 0),
      categories: union(seen.categories, p.categories),
      aiKeywords: union(seen.aiKeywords, p.aiKeywords),
    });
  }
  return [...byId.values()];
}

const MAX_ERROR = 2000;

/**
 * Ingests one listing day from one source: fetch, validate every entry, then
 * upsert all valid papers in ONE transaction. Invalid entries are skipped and
 * logged by id. A failed fetch or write leaves no paper written; either way the
 * run is recorded in ingest_runs. Returns the run; never throws for a source
 * failure (callers decide whether a failed run is fatal).
 */
export async function ingestDay(deps: IngestDeps, source: PaperSource, day: string): Promise<IngestRunResult> {
  const { db, logger } = deps;
  const started = performance.now();
  const [run] = await db.insert(ingestRuns).values({ source: source.name, day }).returning({ id: ingestRuns.id });
  if (!run) throw new Error("ingest_runs insert returned no row");
  const result: IngestRunResult = {
    runId: run.id,
    source: source.name,
    day,
    status: "succeeded",
    fetched: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    error: null,
    unreachable: false,
    durationMs: 0,
  };
  const log = logger.child({ source: source.name, day, runId: run.id });
  try {
    const batch = await source.fetchDay(day);
    result.fetched = batch.fetched;
    const invalid: InvalidEntry[] = [...batch.invalid];
    const valid: Paper[] = [];
    for (const p of batch.papers) {
      const checked = paperSchema.safeParse(p);
      if (checked.success) valid.push(checked.data);
      else invalid.push({ id: p.arxivId, reason: describeIssues(checked.error) });
    }
    for (const entry of invalid) log.warn({ paperId: entry.id, reason: entry.reason }, "skipped an invalid paper entry");
    result.skipped = invalid.length;
    // A fixed order: two runs upserting overlapping papers then lock rows alike and cannot deadlock.
    const unique = dedupe(valid).sort((a, b) => (a.arxivId < b.arxivId ? -1 : a.arxivId > b.arxivId ? 1 : 0));
    const counts = await db.transaction((tx) => upsertPapers(tx, source.kind, unique));
    Object.assign(result, counts);
  } catch (err) {
    result.status = "failed";
    result.error = ((err as Error).message || String(err)).slice(0, MAX_ERROR);
    result.unreachable = err instanceof SourceError && err.unreachable;
    result.inserted = result.updated = result.unchanged = 0;
    log.error({ err: result.error }, "ingest run failed");
  }
  result.durationMs = Math.round(performance.now() - started);
  await db
    .update(ingestRuns)
    .set({
      status: result.status,
      fetched: result.fetched,
      inserted: result.inserted,
      updated: result.updated,
      skipped: result.skipped,
      error: result.error,
      finishedAt: new Date(),
      durationMs: result.durationMs,
    })
    .where(eq(ingestRuns.id, run.id));
  if (result.status === "succeeded") {
    log.info(
      { fetched: result.fetched, inserted: result.inserted, updated: result.updated, unchanged: result.unchanged, skipped: result.skipped, ms: result.durationMs },
      "ingest run finished",
    );
  }
  return result;
}

export interface PlannedRun {
  source: PaperSource;
  day: string;
}

/**
 * Which (source, day) runs to make: the given days for every source; without days,
 * a finite source (a file) covers all of its days and a live service the recent ones.
 */
export async function planRuns(sources: PaperSource[], days: string[] | undefined, recent: string[]): Promise<PlannedRun[]> {
  const plan: PlannedRun[] = [];
  for (const source of sources) {
    const forSource = days ?? (source.days ? await source.days() : recent);
    for (const day of forSource) plan.push({ source, day });
  }
  // Day by day, so a backfill fills the oldest days first whatever the source.
  return plan.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** Runs the planned ingests in order; one failed run does not stop the others. */
export async function ingestPlanned(deps: IngestDeps, plan: PlannedRun[], onRun?: (run: IngestRunResult) => void): Promise<IngestRunResult[]> {
  const runs: IngestRunResult[] = [];
  for (const { source, day } of plan) {
    const run = await ingestDay(deps, source, day);
    runs.push(run);
    onRun?.(run);
  }
  return runs;
}
