import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { dayRange, isDay, recentDays } from "../../days.js";
import { ingestPlanned, planRuns, type IngestRunResult } from "../../papers/ingest.js";
import { SourceError } from "../../papers/paper.js";
import { createSources, SOURCE_SPEC } from "../../papers/sources/index.js";
import { UsageError, withRuntime, type Command } from "./command.js";

const ingestUsage = `ingest [--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--source huggingface|arxiv|file:PATH]

  --date D          ingest one listing day
  --from D1 --to D2 backfill every day from D1 to D2 (both included), with a progress bar
  --source S        one source instead of PAPERS_SOURCES; file:PATH is relative to the working directory
  without a day     a file source ingests every day it holds; live sources today and yesterday (INGEST_TZ)`;

const usageError = (message: string) => new UsageError(`${message}\n\nusage: npm run cli -- ${ingestUsage}`);

function parse(args: string[]) {
  let values: { date?: string; from?: string; to?: string; source?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { date: { type: "string" }, from: { type: "string" }, to: { type: "string" }, source: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw usageError((err as Error).message);
  }
  for (const key of ["date", "from", "to"] as const) {
    const v = values[key];
    if (v !== undefined && !isDay(v)) throw usageError(`--${key}: "${v}" is not a date (YYYY-MM-DD)`);
  }
  if (values.date && (values.from || values.to)) throw usageError("--date and --from/--to do not go together");
  if (Boolean(values.from) !== Boolean(values.to)) throw usageError("--from and --to go together");
  if (values.from && values.to && values.from > values.to) throw usageError("--from must not be after --to");
  if (values.source !== undefined && !SOURCE_SPEC.test(values.source)) {
    throw usageError(`--source: unknown source "${values.source}" (huggingface, arxiv or file:PATH)`);
  }
  const days = values.date ? [values.date] : values.from && values.to ? dayRange(values.from, values.to) : undefined;
  return { days, backfill: Boolean(values.from), source: values.source };
}

const line = (r: IngestRunResult) =>
  `${r.day}  ${r.source}  ${r.status === "failed" ? `FAILED: ${r.error}` : `fetched ${r.fetched}, new ${r.inserted}, updated ${r.updated}, unchanged ${r.unchanged}, skipped ${r.skipped}`} (${r.durationMs} ms)`;

/** `npm run cli -- ingest …`: ingests directly in this process (not through the queue). */
async function ingest(args: string[]): Promise<void> {
  const opts = parse(args);
  await withRuntime(async (rt) => {
    const { config, logger } = rt;
    const sources = createSources(opts.source ? [opts.source] : config.PAPERS_SOURCES, { config });
    const plan = await planRuns(sources, opts.days, recentDays(new Date(), config.INGEST_TZ)).catch((err: unknown) => {
      // A missing or unreadable file:PATH: one line naming it, no stack.
      if (!(err instanceof SourceError)) throw err;
      process.stderr.write(`ingest: ${err.message}\n`);
      return undefined;
    });
    if (!plan) return 1;
    const bar = opts.backfill ? new cliProgress.SingleBar({ format: "ingest [{bar}] {value}/{total} runs  {day} {source}", hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    // Info logs would tear the progress bar apart; problems still show.
    const runLogger = bar && logger.levelVal < logger.levels.values.warn! ? logger.child({}, { level: "warn" }) : logger;
    bar?.start(plan.length, 0, { day: "", source: "" });
    const runs = await ingestPlanned({ db: rt.db, logger: runLogger }, plan, (run) => {
      if (bar) bar.increment({ day: run.day, source: run.source });
      else process.stdout.write(`${line(run)}\n`);
    });
    bar?.stop();
    const failures = runs.filter((r) => r.status === "failed");
    if (bar) for (const f of failures) process.stdout.write(`${line(f)}\n`);
    const sum = (k: "fetched" | "inserted" | "updated" | "unchanged" | "skipped") => runs.reduce((n, r) => n + r[k], 0);
    const dayCount = new Set(runs.map((r) => r.day)).size;
    process.stdout.write(
      `ingest: ${runs.length} run${runs.length === 1 ? "" : "s"} over ${dayCount} day${dayCount === 1 ? "" : "s"}: ` +
        `fetched ${sum("fetched")}, new ${sum("inserted")}, updated ${sum("updated")}, unchanged ${sum("unchanged")}, skipped ${sum("skipped")}, failed ${failures.length}\n`,
    );
    return failures.length > 0 ? 1 : 0;
  });
}

export const ingestCommand: Command = {
  summary: "ingest papers for a day (--date) or a range (--from/--to) from the configured or given --source",
  usage: ingestUsage,
  run: ingest,
};
