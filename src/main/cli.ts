import { parseArgs } from "node:util";
import { loadEnvFile } from "../config.js";
import { isUsageError, UsageError, type Command } from "./cli/command.js";
import { demoCommand } from "./cli/demo.js";
import { ingestCommand } from "./cli/ingest.js";
import { migrateCommand } from "./cli/migrate.js";
import { planCommand } from "./cli/plan.js";
import { sendCommand } from "./cli/send.js";
import { statsCommand } from "./cli/stats.js";
import { subscribersCommand } from "./cli/subscribers.js";
import { exitOnStartupError } from "./shutdown.js";

/** `npm run cli -- <command>`: finds the command and runs it; each lives in its own file under cli/. */
const commands: Record<string, Command> = {
  demo: demoCommand,
  send: sendCommand,
  migrate: migrateCommand,
  ingest: ingestCommand,
  subscribers: subscribersCommand,
  stats: statsCommand,
  plan: planCommand,
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

main().catch((err: unknown) => {
  // A usage mistake or refused input (the runtime is closed by now): its message, no stack.
  if (!isUsageError(err)) exitOnStartupError(err);
  process.stderr.write(`${err.message}\n`);
  process.exit(err instanceof UsageError ? err.exitCode : 1);
});
