import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { digests, subscribers } from "../../db/schema.js";
import { planDigests } from "../../digests/plan.js";
import { ingestDay } from "../../papers/ingest.js";
import { createSource } from "../../papers/sources/index.js";
import { links } from "../../subscribers/links.js";
import { setSubscriberTopics } from "../../subscribers/topics.js";
import { buildServices } from "../services.js";
import { withRuntime } from "./runtime.js";

export const demoUsage = `demo

Loads the sample papers (data/sample), creates a confirmed demo subscriber whose send
hour is now, plans and sends their digest at once, and prints where to read it.`;

const SAMPLE_DAYS = ["2026-11-25", "2026-11-26", "2026-11-27"];
const DEMO_TOPICS = ["diffusion models", "reasoning", "retrieval augmented generation", "mamba or ssm"];

/** `npm run demo`: one digest from the sample data to the local outbox, end to end. */
export async function runDemoCommand(): Promise<void> {
  await withRuntime(async (rt, config, logger) => {
    const source = createSource("file:data/sample", { config });
    let fetched = 0;
    for (const day of SAMPLE_DAYS) fetched += (await ingestDay({ db: rt.db, logger }, source, day)).fetched;
    process.stdout.write(`ingested ${fetched} sample papers over ${SAMPLE_DAYS.length} days\n`);

    // A fresh address each run: a subscriber never gets the same paper twice, so a
    // second demo digest for the same person would be empty.
    const now = new Date();
    const email = `demo+${randomBytes(3).toString("hex")}@paperboy.localhost`;
    const subscriber = await rt.db.transaction(async (tx) => {
      const [s] = await tx
        .insert(subscribers)
        .values({
          email,
          status: "active",
          timezone: "UTC",
          sendHour: now.getUTCHours(),
          maxPapers: 10,
          consentAt: now,
          consentIp: "127.0.0.1",
          consentUserAgent: "npm run demo",
          confirmedAt: now,
          confirmIp: "127.0.0.1",
        })
        .returning();
      if (!s) throw new Error("could not create the demo subscriber");
      await setSubscriberTopics(tx, s.id, DEMO_TOPICS);
      return s;
    });
    process.stdout.write(`demo subscriber ${email} follows: ${DEMO_TOPICS.join(", ")}\n`);

    // Plan as the hourly job would; other due subscribers' digests go to the send queue.
    const summary = await planDigests(rt.db, {
      now,
      listingTimeZone: config.INGEST_TZ,
      onQueued: (ids) => rt.jobs.sendBatches(ids).then(() => undefined),
    });
    const [digest] = await rt.db.select().from(digests).where(eq(digests.subscriberId, subscriber.id));
    if (!digest) throw new Error("the planner created no digest for the demo subscriber");
    process.stdout.write(`planned: ${summary.created} digest(s); the demo digest has ${digest.paperCount} papers\n`);

    // Sent right here; if a worker later takes the same batch, the claim finds it already sent.
    const { sender } = await buildServices(rt);
    const result = await sender.sendBatch([digest.id]);
    const base = config.PUBLIC_URL.replace(/\/$/, "");
    const view = links.viewDigest({ publicUrl: config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET }, subscriber, digest.id);
    process.stdout.write(`sent: ${JSON.stringify(result)}\n\n`);
    process.stdout.write(
      config.SMTP_URL
        ? `The digest went to ${email} through SMTP_URL.\n`
        : `Read it in the local outbox: ${base}/outbox  (run \`npm start\` if it is not running)\n`,
    );
    process.stdout.write(`Or in the browser: ${view}\n`);
  }, { quiet: true });
}
