import type { Queues } from "./queues.js";

/**
 * Registers the repeating jobs. upsertJobScheduler is idempotent, so every worker
 * process may call it at boot and Redis still holds one schedule of each.
 */
export async function registerSchedulers(
  queues: Queues,
  opts: { ingestCron: string; ingestTz: string; planCron: string },
): Promise<void> {
  await queues.ingest.upsertJobScheduler("ingest", { pattern: opts.ingestCron, tz: opts.ingestTz }, { name: "ingest", data: {} });
  await queues.plan.upsertJobScheduler("plan", { pattern: opts.planCron, tz: "UTC" }, { name: "plan", data: {} });
}
