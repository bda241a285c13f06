import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import { createIngestHandler } from "./ingest.js";
import type { Queues } from "./queues.js";
import type { JobHandlers } from "./workers.js";

export interface JobDeps {
  config: Config & { TOKEN_SECRET: string };
  db: Db;
  logger: Logger;
  mailer: Mailer;
  queues: Queues;
}

/** Thin job handlers: each one calls a domain module with ids and dates from the job. */
export function createJobHandlers(deps: JobDeps): JobHandlers {
  return {
    ingest: createIngestHandler(deps),
  };
}
