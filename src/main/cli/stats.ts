import { parseArgs } from "node:util";
import { totals } from "../../ops/stats.js";
import { runWithRuntime, type Command, type RuntimeCommand } from "./command.js";

/** `npm run cli -- stats [--json]`: what the admin dashboard shows, on the terminal. */
export const stats: RuntimeCommand = async (rt, args, io) => {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, strict: true });
  const t = await totals(rt.db);
  if (values.json) {
    io.out.write(JSON.stringify(t, null, 2) + "\n");
    return;
  }
  const line = (rows: { status: string; count: number }[]) =>
    rows.map((r) => `${r.status} ${r.count}`).join(" · ") + ` · total ${rows.reduce((a, r) => a + r.count, 0)}`;
  const run = t.lastIngest;
  io.out.write(
    [
      `subscribers  ${line(t.subscribers)}`,
      `digests      ${line(t.digests)}`,
      `papers       ${t.papers} (${t.topics} distinct topics followed)`,
      `last ingest  ${
        run
          ? `${run.source} for ${run.day}: ${run.status}, started ${run.startedAt.toISOString()}, ${run.fetched} fetched, ${run.inserted} new, ${run.updated} updated, ${run.skipped} skipped${run.error ? ` — ${run.error}` : ""}`
          : "never"
      }`,
    ].join("\n") + "\n",
  );
};

export const statsCommand: Command = {
  summary: "subscribers and digests by status, papers, the last ingest",
  usage: "stats [--json]",
  run: runWithRuntime(stats),
};
