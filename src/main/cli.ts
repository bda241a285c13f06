import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { runOps, statsCommand, statsUsage, subscribersCommand, subscribersUsage } from "./cli-ops.js";
import { createLogger } from "../logger.js";
import { ingestUsage, runIngestCommand } from "./cli-ingest.js";
import { openRuntime } from "./runtime.js";
import { exitOnStartupError } from "./shutdown.js";

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<void>;
}

const commands: Record<string, Command> = {
  migrate: {
    summary: "apply pending database migrations",
    usage: "migrate",
    async run() {
      const config = loadConfig();
      const logger = createLogger(config);
      const rt = await openRuntime(config, { logger, role: "cli" });
      await rt.close();
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
};

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return `usage: npm run cli -- <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nnpm run cli -- <command> --help  shows a command's options\n`;
}

async function main() {
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
