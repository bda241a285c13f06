import { sql } from "drizzle-orm";
import { z } from "zod";
import { isTimeZone } from "../config.js";
import { validationError } from "../errors.js";
import type { Queryable } from "../db/client.js";
import { personText, queryProblem } from "../input.js";
import { toSendableAddress } from "./address.js";
import { TOPIC_MAX, TOPIC_MIN, TOPICS_MAX } from "./topics.js";

/**
 * The shapes a subscriber's choices take on the way in, shared by the JSON API
 * (as route schemas, so /docs shows them) and the HTML forms (parsed by hand).
 * Field names are the API's; errors name them (`sendHour`, `topics.3`).
 */

export const EMAIL_MAX = 254;


/** One topic: the text rule for search queries (src/input.ts), then length and query complexity. */
export const topicSchema = personText({ tab: true, noBidi: true, label: "" })
  .trim()
  // Shown after "Topic 2: " on the pages, and with the field `topics.1` in the API.
  .min(TOPIC_MIN, `needs at least ${TOPIC_MIN} characters.`)
  .max(TOPIC_MAX, `can have at most ${TOPIC_MAX} characters.`)
  .superRefine((t, ctx) => {
    const problem = queryProblem(t);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** No topics is a trending subscription: the day's most upvoted papers. */
export const topicsSchema = z.array(topicSchema).max(TOPICS_MAX, `At most ${TOPICS_MAX} topics.`);

export const timezoneSchema = z
  .string()
  .trim()
  .min(1, "Choose a time zone.")
  .max(64)
  .refine(isTimeZone, "Unknown time zone: use an IANA name such as Europe/Berlin.");

/** A whole number in a range, with one message for a person whatever is wrong (not a number, a fraction, out of range). */
const wholeNumber = (min: number, max: number, message: string) => z.number({ error: message }).int(message).min(min, message).max(max, message);

export const preferenceFields = {
  topics: topicsSchema,
  frequency: z.enum(["daily", "weekly"]),
  /** ISO weekday, 1 = Monday … 7 = Sunday; used when frequency is weekly. */
  weekday: wholeNumber(1, 7, "Weekday is 1–7 (Monday to Sunday)."),
  sendHour: wholeNumber(0, 23, "Send hour is 0–23."),
  timezone: timezoneSchema,
  maxPapers: wholeNumber(5, 50, "Papers per digest is 5–50."),
  sendWhenEmpty: z.boolean(),
  /** With topics: also add the top 3 trending papers to each digest. */
  addTrending: z.boolean(),
};

/**
 * An email address from a person: trimmed, an internationalised domain turned into its
 * ASCII form (what we store and send to), then checked as an address. `invalid` is the
 * message for anything that is not one.
 */
export function emailAddress(invalid: string) {
  return z
    .string()
    .trim()
    .max(EMAIL_MAX, "That email address is too long.")
    .transform((v, ctx) => {
      const r = toSendableAddress(v);
      if ("address" in r) return r.address;
      ctx.addIssue({
        code: "custom",
        message:
          r.problem === "local-part"
            ? "The part before the @ must be plain ASCII (letters, digits and . _ + -): we cannot yet send to addresses with other characters there."
            : invalid,
      });
      return z.NEVER;
    })
    .pipe(z.email(invalid).max(EMAIL_MAX, "That email address is too long."));
}

export const emailSchema = emailAddress("Enter a valid email address.");

export const signupSchema = z
  .object({
    email: emailSchema,
    topics: preferenceFields.topics.default([]),
    frequency: preferenceFields.frequency.default("daily"),
    weekday: preferenceFields.weekday.default(1),
    sendHour: preferenceFields.sendHour.default(8),
    timezone: preferenceFields.timezone.default("UTC"),
    maxPapers: preferenceFields.maxPapers.default(10),
    sendWhenEmpty: preferenceFields.sendWhenEmpty.default(false),
    addTrending: preferenceFields.addTrending.default(false),
  })
  .strict();

export type SignupInput = z.infer<typeof signupSchema>;

export const preferencesPatchSchema = z
  .object({
    topics: preferenceFields.topics.optional(),
    frequency: preferenceFields.frequency.optional(),
    weekday: preferenceFields.weekday.optional(),
    sendHour: preferenceFields.sendHour.optional(),
    timezone: preferenceFields.timezone.optional(),
    maxPapers: preferenceFields.maxPapers.optional(),
    sendWhenEmpty: preferenceFields.sendWhenEmpty.optional(),
    addTrending: preferenceFields.addTrending.optional(),
    /** true pauses digests (the subscription stays active), false resumes them. */
    paused: z.boolean().optional(),
  })
  .strict();

export type PreferencesPatch = z.infer<typeof preferencesPatchSchema>;

export interface FieldError {
  field: string;
  message: string;
}

/** Every problem of a failed parse, first one per field, for forms that show them all at once. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const field = [...issue.path.map(String), ...keys.slice(0, 1)].join(".") || "body";
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, message: keys.length > 0 ? `Unknown field "${keys.join('", "')}".` : issue.message });
  }
  return out;
}

/** Normalized email for lookups and counters (the unique index is on lower(email)). */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/** Intl's canonical zone names: constant for the life of the process. */
const INTL_ZONES: ReadonlySet<string> = new Set(Intl.supportedValuesOf("timeZone"));

/**
 * A time zone must work in JavaScript (rendering) and be known to Postgres or to
 * Intl's canonical list, so the planner's `at time zone` agrees with the page.
 */
export async function assertTimezoneKnown(db: Queryable, tz: string, field = "timezone"): Promise<void> {
  if (!isTimeZone(tz) || (await zonesPostgresLacks(db, [tz])).size > 0) {
    throw validationError(field, "Unknown time zone: use an IANA name such as Europe/Berlin.");
  }
}

/**
 * Of zones JavaScript accepts, those neither in Intl's canonical list nor known to
 * Postgres (old aliases such as US/Pacific-New): the planner could never schedule them.
 * One query however many zones are asked about.
 */
export async function zonesPostgresLacks(db: Queryable, zones: string[]): Promise<Set<string>> {
  const ask = [...new Set(zones)].filter((z) => z !== "UTC" && !INTL_ZONES.has(z));
  if (ask.length === 0) return new Set();
  const { rows } = await db.execute<{ z: string }>(
    sql`select z from unnest(${sql.param(ask)}::text[]) as t(z) where not exists (select 1 from pg_timezone_names n where n.name = t.z)`,
  );
  return new Set(rows.map((r) => r.z));
}
