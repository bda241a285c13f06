import { claimableDigestIds, type BatchResult } from "../../digests/send.js";
import { buildServices } from "../services.js";
import { noArguments, withRuntime, type Command } from "./command.js";

type Counts = Pick<BatchResult, "sent" | "skipped" | "bounced" | "failed" | "deferred" | "held" | "leased">;

/** `npm run cli -- send`: sends every queued digest in this process, batch after batch, and prints a summary. */
export const sendCommand: Command = {
  summary: "send every queued digest now (and any a dead worker left in sending past its lease), then print a summary",
  usage: "send",
  run: (args) => {
    noArguments(args);
    return withRuntime(async (rt) => {
      const { config } = rt;
      // One process, one batch at a time: the whole SMTP pool serves this batch.
      const { sender } = await buildServices(rt, { send: { lanes: config.SMTP_POOL_SIZE } });
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
      return total.failed > 0 || total.deferred + total.held > 0 ? 1 : 0;
    });
  },
};
