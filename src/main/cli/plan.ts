import { parseArgs } from "node:util";
import { planDigests } from "../../digests/plan.js";
import { isCalendarDay } from "../../input.js";
import { UsageError, withRuntime, type Command } from "./command.js";

/**
 * A day, or a day and time with an optional zone, of a real calendar day: `new Date()` alone
 * reads 2026-02-30 as March 2 and "1" as 2001-01-01.
 */
function isIsoTime(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/.test(v) && isCalendarDay(v.slice(0, 10));
}

/** `npm run cli -- plan [--at …]`: plans in this process and puts the send batches on the queue. */
export const planCommand: Command = {
  summary: "create the digests due now (or at --at), match their papers and enqueue sending",
  usage: "plan [--at ISO-time]",
  async run(args) {
    const { values } = parseArgs({ args, options: { at: { type: "string" } }, strict: true });
    const now = values.at === undefined ? new Date() : new Date(values.at);
    if (values.at !== undefined && (!isIsoTime(values.at) || Number.isNaN(now.getTime()))) {
      throw new UsageError(`--at: "${values.at}" is not an ISO time such as 2026-11-27T08:00:00Z`, 2);
    }
    if (now.getTime() > Date.now() + 60_000) {
      // A digest is made once per subscriber and period: planning ahead spends those periods now.
      process.stderr.write(
        `warning: --at ${now.toISOString()} is in the future. The digests due by then are created and sent now, ` +
          "with the papers known now, and their periods are used up: when that time really comes, the scheduled plan creates no digest for them.\n",
      );
    }
    await withRuntime(async (rt) => {
      let sendJobs = 0;
      const s = await planDigests(rt.db, {
        now,
        listingTimeZone: rt.config.INGEST_TZ,
        onQueued: async (ids) => {
          // Chunks run side by side: read the counter after the await, or one chunk's count overwrites the other's.
          const jobs = await rt.jobs.sendBatches(ids);
          sendJobs += jobs;
        },
      });
      process.stdout.write(
        [
          `planned for ${now.toISOString()}`,
          `  subscribers scanned   ${s.scanned}`,
          `  due                   ${s.due}`,
          `  digests created       ${s.created}`,
          `    with papers         ${s.withPapers}`,
          `    empty               ${s.empty}`,
          `  papers matched        ${s.papers}`,
          `  queued for sending    ${s.queuedDigestIds.length} (${sendJobs} send jobs)`,
          ...(s.unknownZone > 0 ? [`  unknown time zone     ${s.unknownZone} (skipped)`] : []),
          "",
        ].join("\n"),
      );
    });
  },
};
