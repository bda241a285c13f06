import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { subscriberTopics, topics } from "../db/schema.js";
import { AppError } from "../errors.js";

export const TOPIC_MIN = 2;
export const TOPIC_MAX = 100;
export const TOPICS_MAX = 20;

/**
 * A list of topics as people type it, the one parser of every way in: one per line (the
 * signup and manage forms' textarea, the preview's query, the admin's test digest; each
 * value of a repeated parameter or JSON array is split too), and with `pipes` also at
 * " | " (a CSV cell). Each topic is trimmed; blank ones are dropped.
 */
export function parseTopicList(text: string | readonly string[] | undefined, opts: { pipes?: boolean } = {}): string[] {
  const parts = text === undefined ? [] : typeof text === "string" ? [text] : text;
  const lines = parts.flatMap((s) => s.split(/\r\n|\r|\n/)).map((l) => l.trim());
  const topics = opts.pipes ? lines.flatMap((l) => l.split(" | ")).map((t) => t.trim()) : lines;
  return topics.filter((t) => t.length > 0);
}

/**
 * A topic is stored once however it was typed: trimmed, inner whitespace
 * collapsed, lower case (web-search syntax is case-insensitive, `OR` included).
 */
export function normalizeTopic(input: string): string {
  return input.normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase();
}

/** The label keeps the person's casing but loses stray whitespace. */
export function topicLabel(input: string): string {
  return input.normalize("NFC").trim().replace(/\s+/g, " ");
}

/**
 * Refuses topics that Postgres reduces to an empty query (only stop words or
 * punctuation): they would never match anything. Throws VALIDATION naming `field`.
 */
export async function assertTopicsSearchable(db: Queryable, labels: string[], field = "topics"): Promise<void> {
  if (labels.length === 0) return;
  const normalized = labels.map(normalizeTopic);
  const { rows } = await db.execute<{ i: number; q: string }>(
    sql`select i::int as i, websearch_to_tsquery('english', q)::text as q
        from unnest(${sql.param(normalized)}::text[]) with ordinality as t(q, i)`,
  );
  for (const row of rows) {
    if (row.q.trim() === "") throw unsearchableTopic(labels, row.i - 1, field);
  }
}

/** The refusal of labels[index], a topic Postgres reduces to an empty query. */
export function unsearchableTopic(labels: string[], index: number, field = "topics"): AppError {
  const label = labels[index] ?? "";
  return new AppError(
    "VALIDATION",
    `"${label}" has no searchable words (only common words like "the" or punctuation). Add a word that papers would contain.`,
    `${field}.${index}`,
  );
}

/**
 * Replaces a subscriber's topics with `labels` (already validated), reusing
 * existing topic rows. Run inside the caller's transaction.
 */
export async function setSubscriberTopics(db: Queryable, subscriberId: number, labels: string[]): Promise<void> {
  const byQuery = new Map<string, string>();
  for (const l of labels) if (!byQuery.has(normalizeTopic(l))) byQuery.set(normalizeTopic(l), topicLabel(l));
  const queries = [...byQuery.keys()];
  if (queries.length > 0) {
    await db.insert(topics).values(queries.map((query) => ({ query }))).onConflictDoNothing({ target: topics.query });
  }
  const rows = queries.length > 0 ? await db.select({ id: topics.id, query: topics.query }).from(topics).where(inArray(topics.query, queries)) : [];
  const ids = rows.map((r) => r.id);
  await db
    .delete(subscriberTopics)
    .where(and(eq(subscriberTopics.subscriberId, subscriberId), ids.length > 0 ? notInArray(subscriberTopics.topicId, ids) : undefined));
  if (rows.length > 0) {
    await db
      .insert(subscriberTopics)
      .values(rows.map((r) => ({ subscriberId, topicId: r.id, label: byQuery.get(r.query) ?? r.query, position: queries.indexOf(r.query) })))
      .onConflictDoUpdate({
        target: [subscriberTopics.subscriberId, subscriberTopics.topicId],
        set: { label: sql`excluded.label`, position: sql`excluded.position` },
      });
  }
}

/** The subscriber's topics as they typed them, in the order they typed them. */
export async function subscriberTopicLabels(db: Queryable, subscriberId: number): Promise<string[]> {
  const rows = await db
    .select({ label: subscriberTopics.label })
    .from(subscriberTopics)
    .where(eq(subscriberTopics.subscriberId, subscriberId))
    .orderBy(subscriberTopics.position, subscriberTopics.createdAt, subscriberTopics.topicId);
  return rows.map((r) => r.label);
}
