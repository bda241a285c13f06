import { eq } from "drizzle-orm";
import { digests } from "../../db/schema.js";
import { planDigests } from "../../digests/plan.js";
import { ingestDay } from "../../papers/ingest.js";
import { createSource } from "../../papers/sources/index.js";
import { links } from "../../subscribers/links.js";
import type { Runtime } from "../runtime.js";
import { buildServices } from "../services.js";
import { noArguments, withRuntime, type Command } from "./command.js";

const demoUsage = `demo

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
export async function runDemo(rt: Runtime, write: (text: string) => void, at?: Date): Promise<{ subscriberId: number; digestId: number; sent: boolean }> {
  const { config, logger } = rt;
  const source = createSource("file:data/sample", { config });
  let fetched = 0;
  for (const day of SAMPLE_DAYS) fetched += (await ingestDay({ db: rt.db, logger }, source, day)).fetched;
  write(`ingested ${fetched} sample papers over ${SAMPLE_DAYS.length} days\n`);
  // After the ingest: a digest holds the papers first seen up to its plan time.
  const now = at ?? new Date();

  // The same demo subscriber every run, due now. Its earlier demo digests are forgotten,
  // since a subscriber never gets a paper twice and a second demo digest would be empty.
  const services = await buildServices(rt);
  const subscriber = await services.subscribers.enrol(
    { email: DEMO_EMAIL, topics: DEMO_TOPICS, timezone: "UTC", sendHour: now.getUTCHours(), frequency: "daily", maxPapers: 10 },
    { ip: "127.0.0.1", userAgent: "npm run demo" },
    now,
  );
  await rt.db.delete(digests).where(eq(digests.subscriberId, subscriber.id));
  write(`demo subscriber ${DEMO_EMAIL} follows: ${DEMO_TOPICS.join(", ")}\n`);

  await planDigests(rt.db, { now, subscriberIds: [subscriber.id], listingTimeZone: config.INGEST_TZ });
  const [digest] = await rt.db.select().from(digests).where(eq(digests.subscriberId, subscriber.id));
  if (!digest) throw new Error("the planner created no digest for the demo subscriber");

  const result = await services.sender.sendBatch([digest.id]);
  // Paused, so the hourly plan leaves it alone until the next `npm run demo`.
  await services.subscribers.update(services.subscribers.tokenFor(subscriber, "manage"), { paused: true });
  const base = config.PUBLIC_URL.replace(/\/$/, "");
  const view = links.viewDigest({ publicUrl: config.PUBLIC_URL, secret: rt.config.TOKEN_SECRET }, subscriber, digest.id);
  const sent = result.sent === 1;
  write(
    sent
      ? `sent the demo digest: ${digest.paperCount} papers\n\n`
      : // Deferred: a 4xx, or no answer at all (refused connection, timeout).
        `the demo digest was not sent: ${digest.paperCount === 0 ? "no sample paper matched its topics" : result.deferred > 0 ? "the SMTP server is busy or unreachable" : "the SMTP server refused it"}\n\n`,
  );
  if (sent) write(config.SMTP_URL ? `The digest went to ${DEMO_EMAIL} through SMTP_URL.\n` : `Read it in the local outbox: ${base}/outbox  (run \`npm start\` if it is not running)\n`);
  write(`${sent ? "Or in" : "Read it in"} the browser: ${view}\n`);
  write("The demo subscriber is paused now, so it is not mailed every day; run `npm run demo` again for another digest.\n");
  return { subscriberId: subscriber.id, digestId: digest.id, sent };
}

/** `npm run demo`. */
export const demoCommand: Command = {
  summary: "send a digest of the sample papers to a demo subscriber now (local outbox)",
  usage: demoUsage,
  run: (args) => {
    noArguments(args);
    return withRuntime(async (rt) => {
      const { sent } = await runDemo(rt, (text) => process.stdout.write(text));
      return sent ? 0 : 1;
    }, { quiet: true });
  },
};
