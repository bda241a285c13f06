import { noArguments, withRuntime, type Command } from "./command.js";

/** `npm run cli -- migrate` (and `npm run db:migrate`). */
export const migrateCommand: Command = {
  summary: "apply pending database migrations",
  usage: "migrate",
  async run(args) {
    noArguments(args);
    // Opening the runtime applies them.
    await withRuntime(async () => undefined);
    process.stdout.write("migrations applied\n");
  },
};
