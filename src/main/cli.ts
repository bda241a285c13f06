import { parseArgs } from "node:util";
import { loadEnvFile } from "../config.js";
import { runOps, statsCommand, statsUsage, subscribersCommand, subscribersUsage } from "./cli/ops.js";
import { planDigests } from "../digests/plan.js";
import { claimableDigestIds, type BatchResult } from "../digests/send.js";
import { demoUsage, runDemoCommand } from "./cli/demo.js";
import { ingestUsage, runIngestCommand } from "./cli/ingest.js";
import { withRuntime } from "./cli/runtime.js";
import { buildServices } from "./services.js";
import { exitOnStartupError } from "./shutdown.js";

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<void>;
}

const commands: Record<string, Command> = {
  demo: { summary: "send a digest of the sample papers to a demo subscriber now (local outbox)", usage: demoUsage, run: runDemoCommand },
  send: {
    summary: "send every queued digest now (and any a dead worker left in sending past its lease), then print a summary",
    usage: "send",
    async run() {
      await withRuntime(async (rt, config) => {
        // One process, one batch at a time: the whole SMTP pool serves this batch.
        const { sender } = await buildServices(rt, { send: { lanes: config.SMTP_POOL_SIZE } });
        type Counts = Pick<BatchResult, "sent" | "skipped" | "bounced" | "failed" | "deferred" | "held" | "leased">;
        const total: Counts = { sent: 0, skipped: 0, bounced: 0, failed: 0, deferred: 0, held: 0, leased: 0 };
        const started = Date.now();
        let last = 0;
        for (;;) {
          const ids = await claimableDigestIds(rt.pool, { afterId: last, limit: config.SEND_BATCH_SIZE, leaseMs: config.SEND_LEASE_MS });
          if (ids.length === 0) break;
          last = ids.at(-1) ?? last;
          const r = await sender.sendBatch(ids);
          for (const k of Object.keys(total) as (keyof Counts)[]) total[k] += r[k];
          process.stdout.write(`\r${total.sent} sent, ${total.skipped} skipped, ${total.bounced} bounced, ${total.failed} failed, ${total.deferred + total.held} left queued`);
          // The server is busy or away: more batches now would only be refused too.
          if (r.throttled) break;
        }
        const secs = (Date.now() - started) / 1000;
        process.stdout.write(
          `\nsend: ${total.sent} sent, ${total.skipped} skipped (subscriber no longer active or paused), ${total.bounced} bounced, ` +
            `${total.failed} failed, ${total.deferred + total.held} left queued because the mail server was busy or away, ` +
            `${total.leased} held by another worker; ${secs.toFixed(1)} s\n`,
        );
        if (total.failed > 0 || total.deferred + total.held > 0) process.exitCode = 1;
      });
    },
  },
  migrate: {
    summary: "apply pending database migrations",
    usage: "migrate",
    async run() {
      // Opening the runtime applies them.
      await withRuntime(async () => undefined);
      process.stdout.write("migrations applied\n");
    },
  },
  ingest: {
    summary: "ingest papers for a day (--date) or a range (--from/--to) from the configured or given --source",
    usage: ingestUsage,
    run: runIngestCommand,
  },
  subscribers: { summary: "export subscribers to CSV, or import them from CSV", usage: subscribersUsage, run: (args) => runOps(subscribersCommand, args) },
  stats: { summary: "subscribers and digests by status, papers, the last ingest", usage: statsUsage, run: (args) => runOps(statsCommand, args) },
  plan: {
    summary: "create the digests due now (or at --at), match their papers and enqueue sending",
    usage: "plan [--at ISO-time]",
    async run(args) {
      const { values } = parseArgs({ args, options: { at: { type: "string" } }, strict: true });
      const now = values.at ? new Date(values.at) : new Date();
      if (Number.isNaN(now.getTime())) {
        process.stderr.write(`--at: "${values.at}" is not an ISO time such as 2026-11-27T08:00:00Z\n`);
        process.exit(2);
      }
      if (now.getTime() > Date.now() + 60_000) {
        // A digest is made once per subscriber and period: planning ahead spends those periods now.
        process.stderr.write(
          `warning: --at ${now.toISOString()} is in the future. The digests due by then are created and sent now, ` +
            "with the papers known now, and their periods are used up: when that time really comes, the scheduled plan creates no digest for them.\n",
        );
      }
      await withRuntime(async (rt, config) => {
        let sendJobs = 0;
        const s = await planDigests(rt.db, {
          now,
          listingTimeZone: config.INGEST_TZ,
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
  },
};

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return `usage: npm run cli -- <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nnpm run cli -- <command> --help  shows a command's options\n`;
}

async function main() {
  loadEnvFile();
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help());
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${help()}`);
    process.exit(2);
  }
  const { values } = parseArgs({ args: rest, options: { help: { type: "boolean", short: "h" } }, strict: false });
  if (values.help) {
    process.stdout.write(`usage: npm run cli -- ${command.usage}\n\n${command.summary}\n`);
    return;
  }
  await command.run(rest);
}

main().catch(exitOnStartupError);
