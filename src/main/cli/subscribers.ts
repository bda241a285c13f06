import { open, readFile } from "node:fs/promises";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import {
  countExportable,
  csvHeader,
  csvRows,
  exportSubscriberPages,
  importSubscribers,
  parseSubscriberCsv,
  unschedulableZones,
  unsearchableTopics,
} from "../../subscribers/transfer.js";
import type { Runtime } from "../runtime.js";
import { runWithRuntime, UsageError, type Command, type Io, type RuntimeCommand } from "./command.js";

/** `npm run cli -- subscribers export|import`: subscribers to and from CSV. */

/** A bar on stderr when it is a terminal; silent in pipes and CI, where only the summary line shows. */
function progress(io: Io, label: string, total: number) {
  if (!io.progress) return { update: (_n: number) => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% · {eta_formatted} left`, stream: process.stderr, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
}

const subscribersUsage = `subscribers export [--out file.csv]
       npm run cli -- subscribers import <file.csv> [--confirmed --consent-note "how consent was given"]

export  writes every subscriber with an address as CSV (stdout unless --out): email, status,
        timezone, send_hour, frequency, weekday, max_papers, send_when_empty, paused_at,
        topics (a JSON array of labels), consent_at, consent_ip, consent_user_agent,
        consent_note, confirmed_at, unsubscribed_at, created_at.
import  checks every row first and reports each bad one by line; if any row is bad,
        nothing is imported. All rows go in one transaction. Only email and topics are
        required (topics as a JSON array or labels joined by " | ").
        Without --confirmed, new subscribers are pending and each gets a confirmation email
        (queued; a worker sends it).
        With --confirmed (needs --consent-note), they are active at once; the note is stored
        as their consent record. Rows marked unsubscribed/bounced/complained keep that status
        and get no email. Addresses that already exist are left untouched.`;

export const subscribers: RuntimeCommand = async (rt, args, io) => {
  const [sub, ...rest] = args;
  if (sub === "export") return exportCommand(rt, rest, io);
  if (sub === "import") return importCommand(rt, rest, io);
  throw new UsageError(`subscribers needs "export" or "import"\n\nusage: npm run cli -- ${subscribersUsage}`);
};

/**
 * The --out file, opened before anything is written: a missing folder or no permission is
 * a plain refusal, not a stream's unhandled error. Personal data: readable by its owner
 * only, also when it replaces an existing file (open's mode applies to new files alone).
 */
async function openOut(file: string): Promise<NodeJS.WritableStream> {
  try {
    const handle = await open(file, "w", 0o600);
    await handle.chmod(0o600);
    return handle.createWriteStream({ encoding: "utf8" });
  } catch (err) {
    throw new UsageError(`--out: cannot write ${file}: ${(err as Error).message}`);
  }
}

async function exportCommand(rt: Runtime, args: string[], io: Io): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: "string", short: "o" } }, strict: true, allowPositionals: false });
  const out: NodeJS.WritableStream = values.out ? await openOut(values.out) : io.out;
  const total = await countExportable(rt.db);
  const bar = values.out ? progress(io, "export", total) : undefined;
  const write = (chunk: string) => (out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  let n = 0;
  await write(csvHeader());
  for await (const page of exportSubscriberPages(rt.db)) {
    await write(csvRows(page));
    n += page.length;
    bar?.update(n);
  }
  bar?.stop();
  if (out !== io.out) {
    out.end();
    await finished(out);
  }
  io.err(`exported ${n} subscriber${n === 1 ? "" : "s"}${values.out ? ` to ${values.out}` : ""}`);
}

async function importCommand(rt: Runtime, args: string[], io: Io): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { confirmed: { type: "boolean", default: false }, "consent-note": { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`subscribers import needs one CSV file\n\nusage: npm run cli -- ${subscribersUsage}`);
  const note = values["consent-note"]?.trim();
  if (values.confirmed && !note) throw new UsageError('--confirmed needs --consent-note "…": how these people gave their consent (kept with each subscriber)');
  if (!values.confirmed && note) throw new UsageError("--consent-note only applies with --confirmed");
  const text = await readFile(file, "utf8");

  const parsed = parseSubscriberCsv(text);
  const problems = [...parsed.problems, ...(await unsearchableTopics(rt.db, parsed.rows)), ...(await unschedulableZones(rt.db, parsed.rows))].sort(
    (a, b) => a.line - b.line,
  );
  if (problems.length > 0) {
    for (const p of problems) io.err(`${file}:${p.line}: ${p.field ? `${p.field}: ` : ""}${p.message}`);
    const lines = new Set(problems.map((p) => p.line)).size;
    throw new UsageError(`${lines} bad row${lines === 1 ? "" : "s"}; nothing was imported. Fix them and run the import again.`);
  }
  const bar = progress(io, "import", parsed.rows.length);
  const result = await importSubscribers(rt.db, parsed.rows, { confirmed: values.confirmed ?? false, consentNote: note, onProgress: (n) => bar.update(n) });
  bar.stop();

  // The worker sends them (and retries through SMTP outages); an import never waits for SMTP.
  await rt.jobs.enqueueSubscriberMail(result.toConfirm.map((s) => ({ kind: "import-confirm" as const, subscriberId: s.id, version: s.version })));
  const queued = result.toConfirm.length;
  io.err(
    `imported ${result.created} subscriber${result.created === 1 ? "" : "s"} (${values.confirmed ? "confirmed" : "pending confirmation"})` +
      `, ${result.existing.length} already here and left as they were` +
      (queued > 0 ? `, ${queued} confirmation email${queued === 1 ? "" : "s"} queued (a worker sends them)` : ""),
  );
}

export const subscribersCommand: Command = {
  summary: "export subscribers to CSV, or import them from CSV",
  usage: subscribersUsage,
  run: runWithRuntime(subscribers),
};
