import { and, eq, sql } from "drizzle-orm";
import { digests, subscribers } from "../../db/schema.js";
import { planDigests } from "../../digests/plan.js";
import { ingestDay } from "../../papers/ingest.js";
import { createSource } from "../../papers/sources/index.js";
import { links } from "../../subscribers/links.js";
import { setSubscriberTopics } from "../../subscribers/topics.js";
import type { Runtime } from "../runtime.js";
import { buildServices } from "../services.js";
import { withRuntime } from "./runtime.js";

export const demoUsage = `demo

Loads the sample papers (data/sample), sets up the demo subscriber (demo@paperboy.localhost: the same
one every run, its earlier demo digests forgotten), plans and sends its digest at once, and
prints where to read it. No other subscriber is planned or mailed. The demo subscriber is
paused afterwards, so the scheduler does not mail it every day.`;

export const DEMO_EMAIL = "demo@paperboy.localhost";
const SAMPLE_DAYS = ["2026-11-25", "2026-11-26", "2026-11-27"];
const DEMO_TOPICS = ["diffusion models", "reasoning", "retrieval augmented generation", "mamba or ssm"];

/**
 * One digest from the sample papers to the demo subscriber, end to end. Touches no
 * other subscriber: the plan is limited to the demo's own, and it is sent right here.
 */
export async function runDemo(rt: Runtime, write: (text: string) => void, at?: Date): Promise<{ subscriberId: number; digestId: number }> {
  const { config, logger } = rt;
  const source = createSource("file:data/sample", { config });
  let fetched = 0;
  for (const day of SAMPLE_DAYS) fetched += (await ingestDay({ db: rt.db, logger }, source, day)).fetched;
  write(`ingested ${fetched} sample papers over ${SAMPLE_DAYS.length} days\n`);
  // After the ingest: a digest holds the papers first seen up to its plan time.
  const now = at ?? new Date();

  // The same demo subscriber every run, due now. Its earlier demo digests are forgotten,
  // since a subscriber never gets a paper twice and a second demo digest would be empty.
  const subscriber = await rt.db.transaction(async (tx) => {
    const settings = {
      status: "active" as const,
      timezone: "UTC",
      sendHour: now.getUTCHours(),
      frequency: "daily" as const,
      maxPapers: 10,
      pausedAt: null,
      unsubscribedAt: null,
      confirmedAt: now,
      updatedAt: now,
    };
    const [existing] = await tx
      .update(subscribers)
      .set(settings)
      .where(sql`lower(${subscribers.email}) = ${DEMO_EMAIL}`)
      .returning();
    const s =
      existing ??
      (
        await tx
          .insert(subscribers)
          .values({ email: DEMO_EMAIL, ...settings, consentAt: now, consentIp: "127.0.0.1", consentUserAgent: "npm run demo", confirmIp: "127.0.0.1" })
          .returning()
      )[0];
    if (!s) throw new Error("could not create the demo subscriber");
    await tx.delete(digests).where(eq(digests.subscriberId, s.id));
    await setSubscriberTopics(tx, s.id, DEMO_TOPICS);
    return s;
  });
  write(`demo subscriber ${DEMO_EMAIL} follows: ${DEMO_TOPICS.join(", ")}\n`);

  await planDigests(rt.db, { now, subscriberIds: [subscriber.id], listingTimeZone: config.INGEST_TZ });
  const [digest] = await rt.db.select().from(digests).where(eq(digests.subscriberId, subscriber.id));
  if (!digest) throw new Error("the planner created no digest for the demo subscriber");

  const { sender } = await buildServices(rt);
  const result = await sender.sendBatch([digest.id]);
  // Paused, so the hourly plan leaves it alone until the next `npm run demo`.
  await rt.db
    .update(subscribers)
    .set({ pausedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(subscribers.id, subscriber.id), sql`${subscribers.pausedAt} is null`));
  const base = config.PUBLIC_URL.replace(/\/$/, "");
  const view = links.viewDigest({ publicUrl: config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET }, subscriber, digest.id);
  write(
    result.sent === 1
      ? `sent the demo digest: ${digest.paperCount} papers\n\n`
      : `the demo digest was not sent: ${digest.paperCount === 0 ? "no sample paper matched its topics" : result.deferred > 0 ? "the SMTP server asked to try again later" : "the SMTP server refused it"}\n\n`,
  );
  write(config.SMTP_URL ? `The digest went to ${DEMO_EMAIL} through SMTP_URL.\n` : `Read it in the local outbox: ${base}/outbox  (run \`npm start\` if it is not running)\n`);
  write(`Or in the browser: ${view}\n`);
  write("The demo subscriber is paused now, so it is not mailed every day; run `npm run demo` again for another digest.\n");
  return { subscriberId: subscriber.id, digestId: digest.id };
}

/** `npm run demo`. */
export async function runDemoCommand(): Promise<void> {
  await withRuntime((rt) => runDemo(rt, (text) => process.stdout.write(text)), { quiet: true });
}
