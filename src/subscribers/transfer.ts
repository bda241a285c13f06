import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { isTimeZone } from "../config.js";
import type { Db } from "../db/client.js";
import { subscribers } from "../db/schema.js";
import { personText } from "../input.js";
import { normalizeTopic, parseTopicList, topicLabel, TOPICS_MAX } from "./topics.js";
import { insertPendingFromStored } from "./pending-signups.js";
import { emailAddress, topicSchema, zonesPostgresLacks } from "./preferences.js";

/**
 * Subscribers to and from CSV: an export holds every field needed to restore them
 * elsewhere (backups, moving hosts); an import checks every row before it writes
 * any, and writes all of them in one transaction or none.
 */

export const CSV_COLUMNS = [
  "email",
  "status",
  "timezone",
  "send_hour",
  "frequency",
  "weekday",
  "max_papers",
  "send_when_empty",
  "paused_at",
  "topics",
  "consent_at",
  "consent_ip",
  "consent_user_agent",
  "consent_note",
  "confirmed_at",
  "unsubscribed_at",
  "created_at",
  "add_trending",
] as const;

type Column = (typeof CSV_COLUMNS)[number];

const SUPPRESSED = ["unsubscribed", "bounced", "complained"] as const;

// ---------------------------------------------------------------- export

type ExportRow = {
  id: number;
  email: string;
  status: string;
  timezone: string;
  send_hour: number;
  frequency: string;
  weekday: number;
  max_papers: number;
  send_when_empty: boolean;
  paused_at: Date | null;
  topics: string[];
  consent_at: Date | null;
  consent_ip: string | null;
  consent_user_agent: string | null;
  consent_note: string | null;
  confirmed_at: Date | null;
  unsubscribed_at: Date | null;
  created_at: Date;
  add_trending: boolean;
};

const iso = (d: Date | string | null) => (d === null ? "" : new Date(d).toISOString());

/** Everyone with an address (erased subscribers have none left to restore), by id, a page at a time. */
export async function* exportSubscriberPages(db: Db, pageSize = 1000): AsyncGenerator<string[][]> {
  let last = 0;
  for (;;) {
    const { rows } = await db.execute<ExportRow>(sql`
      select s.id, s.email, s.status::text as status, s.timezone, s.send_hour, s.frequency::text as frequency, s.weekday,
             s.max_papers, s.send_when_empty, s.paused_at,
             coalesce((select array_agg(st.label order by st.position, st.created_at, st.topic_id) from subscriber_topics st where st.subscriber_id = s.id), '{}') as topics,
             s.consent_at, s.consent_ip, s.consent_user_agent, s.consent_note, s.confirmed_at, s.unsubscribed_at, s.created_at,
             s.add_trending
      from subscribers s
      where s.email is not null and s.id > ${last}
      order by s.id limit ${pageSize}`);
    if (rows.length === 0) return;
    last = Number(rows.at(-1)?.id);
    yield rows.map((r) => [
      r.email,
      r.status,
      r.timezone,
      String(r.send_hour),
      r.frequency,
      String(r.weekday),
      String(r.max_papers),
      String(r.send_when_empty),
      iso(r.paused_at),
      JSON.stringify(r.topics),
      iso(r.consent_at),
      r.consent_ip ?? "",
      r.consent_user_agent ?? "",
      r.consent_note ?? "",
      iso(r.confirmed_at),
      iso(r.unsubscribed_at),
      iso(r.created_at),
      String(r.add_trending),
    ]);
  }
}

export function csvHeader(): string {
  return stringify([[...CSV_COLUMNS]]);
}

export function csvRows(rows: string[][]): string {
  return stringify(rows);
}

export async function countExportable(db: Db): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from subscribers where email is not null`);
  return rows[0]?.n ?? 0;
}

// ---------------------------------------------------------------- import: checking

export interface RowProblem {
  /** 1-based line in the file where the row starts (line 1 is the header). */
  line: number;
  field?: string | undefined;
  message: string;
}

const timeZone = z.string().refine(isTimeZone, { message: "must be an IANA time zone such as Europe/Berlin" });

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const intIn = (min: number, max: number) => z.coerce.number({ message: "must be a whole number" }).int("must be a whole number").min(min).max(max);
const timestamp = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), "must be a date and time such as 2026-11-28T08:00:00Z")
  .transform((v) => new Date(v));
const bool = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" }))
  .transform((v) => v === "true" || v === "1" || v === "yes");

/**
 * A JSON array (what export writes), or labels joined by " | " or on lines of their own
 * (a quoted cell with line breaks, as the form's textarea: each line is a topic).
 * Each topic then meets the same rule as one typed into the form.
 */
const topicsCell = z
  .string()
  .transform((v, ctx) => {
    const t = v.trim();
    if (t === "") return [];
    if (t.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parseTopicList(parsed);
      } catch {
        // reported below
      }
      ctx.addIssue({ code: "custom", message: "must be a JSON array of strings or topics joined by \" | \"" });
      return z.NEVER;
    }
    return parseTopicList(t, { pipes: true });
  })
  .pipe(z.array(topicSchema.transform(topicLabel)).max(TOPICS_MAX, `at most ${TOPICS_MAX} topics`));

export const importRowSchema = z
  .object({
    email: emailAddress("must be an email address"),
    status: optional(z.enum(["pending", "active", ...SUPPRESSED], { message: "must be pending, active, unsubscribed, bounced or complained" })),
    timezone: optional(timeZone).transform((v) => v ?? "UTC"),
    send_hour: optional(intIn(0, 23)).transform((v) => v ?? 8),
    frequency: optional(z.enum(["daily", "weekly"], { message: "must be daily or weekly" })).transform((v) => v ?? "daily"),
    weekday: optional(intIn(1, 7)).transform((v) => v ?? 1),
    max_papers: optional(intIn(1, 50)).transform((v) => v ?? 10),
    send_when_empty: optional(bool).transform((v) => v ?? false),
    paused_at: optional(timestamp),
    /** Empty or absent: a trending subscription. */
    topics: optional(topicsCell).transform((v) => v ?? []),
    consent_at: optional(timestamp),
    consent_ip: optional(z.union([z.ipv4(), z.ipv6()], { message: "must be an IP address" })),
    consent_user_agent: optional(personText().max(1000)),
    consent_note: optional(personText({ multiline: true }).max(1000)),
    confirmed_at: optional(timestamp),
    unsubscribed_at: optional(timestamp),
    created_at: optional(timestamp),
    add_trending: optional(bool).transform((v) => v ?? false),
  });
// No topics is a trending subscription (the day's most upvoted papers), whatever the status.

export type ImportRow = z.output<typeof importRowSchema> & { line: number };

export interface ParsedImport {
  rows: ImportRow[];
  problems: RowProblem[];
}

/** Line numbers (1-based, CRLF, CR or LF each one break) of byte offsets in the file, scanning forward once. */
function lineCounter(buf: Buffer) {
  let pos = 0;
  let line = 1;
  const isBreak = (c: number | undefined) => c === 0x0a || c === 0x0d;
  const advance = (to: number) => {
    for (; pos < to && pos < buf.length; pos++) {
      if (buf[pos] === 0x0a || (buf[pos] === 0x0d && buf[pos + 1] !== 0x0a)) line++;
    }
  };
  return {
    headerEnd(): number {
      let i = 0;
      while (i < buf.length && !isBreak(buf[i])) i++;
      return i;
    },
    /** The line where the next record starts: after `offset`, past the line breaks of blank lines. */
    lineOfRecordAfter(offset: number): number {
      let start = offset;
      while (start < buf.length && isBreak(buf[start])) start++;
      advance(start);
      return line;
    },
  };
}

/** Parses and checks every row; nothing touches the database here. */
export function parseSubscriberCsv(text: string): ParsedImport {
  const problems: RowProblem[] = [];
  let records: { record: Record<string, string>; info: { lines: number; bytes: number } }[];
  try {
    records = parse<Record<string, string>>(text, { columns: true, bom: true, skip_empty_lines: true, info: true, relax_quotes: false }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    return { rows: [], problems: [{ line: e.lines ?? 1, message: `not readable as CSV: ${e.message}` }] };
  }
  const header = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
  const columns: string[][] = parse(header, { to_line: 1 });
  const names = columns[0] ?? [];
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length > 0) problems.push({ line: 1, message: `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")} (known: ${CSV_COLUMNS.join(", ")})` });
  for (const required of ["email"] satisfies Column[]) {
    if (!names.includes(required)) problems.push({ line: 1, field: required, message: `the "${required}" column is missing` });
  }
  if (problems.length > 0) return { rows: [], problems };

  const rows: ImportRow[] = [];
  const seen = new Map<string, number>();
  // csv-parse's line count drifts on CRLF inside quoted cells; a record's line is counted
  // here instead, from where the previous record ended (info.bytes) past any blank lines.
  const lines = lineCounter(Buffer.from(text, "utf8"));
  let previousEnd = lines.headerEnd();
  for (const { record, info } of records) {
    const line = lines.lineOfRecordAfter(previousEnd);
    previousEnd = info.bytes;
    const parsed = importRowSchema.safeParse(record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push({ line, field: issue.path.map(String).join(".") || undefined, message: issue.message });
      continue;
    }
    const key = parsed.data.email.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ line, field: "email", message: `the same address as line ${first}` });
      continue;
    }
    seen.set(key, line);
    rows.push({ ...parsed.data, line });
  }
  return { rows, problems };
}

/**
 * Postgres reduces some topics to an empty query (only stop words like "the"):
 * they would never match. One query checks every distinct topic of the file.
 */
export async function unsearchableTopics(db: Db, rows: ImportRow[]): Promise<RowProblem[]> {
  const distinct = [...new Set(rows.flatMap((r) => r.topics.map(normalizeTopic)))];
  if (distinct.length === 0) return [];
  const { rows: empty } = await db.execute<{ q: string }>(
    sql`select q from unnest(${sql.param(distinct)}::text[]) as t(q) where websearch_to_tsquery('english', q)::text = ''`,
  );
  const bad = new Set(empty.map((e) => e.q));
  const problems: RowProblem[] = [];
  for (const r of rows) {
    r.topics.forEach((t, i) => {
      if (bad.has(normalizeTopic(t))) {
        problems.push({ line: r.line, field: `topics.${i}`, message: `topic "${t}" has no searchable words (only common words like "the" or punctuation)` });
      }
    });
  }
  return problems;
}

/** Time zones JavaScript accepts but Postgres does not know: the planner would skip those subscribers forever. */
export async function unschedulableZones(db: Db, rows: ImportRow[]): Promise<RowProblem[]> {
  const lacking = await zonesPostgresLacks(db, rows.map((r) => r.timezone));
  return rows
    .filter((r) => lacking.has(r.timezone))
    .map((r) => ({ line: r.line, field: "timezone", message: `time zone "${r.timezone}" is not known to the database; use a current IANA name such as Europe/Berlin` }));
}

// ---------------------------------------------------------------- import: writing

export interface ImportOptions {
  /** The person consented elsewhere: create active subscribers without a confirmation email. */
  confirmed: boolean;
  /** Required with `confirmed`: how consent was obtained; stored on each subscriber. */
  consentNote?: string | undefined;
  now?: Date;
  onProgress?: (done: number) => void;
}

export interface ImportResult {
  created: number;
  /** Addresses that already exist here: left exactly as they are. */
  existing: string[];
  /** New pending subscribers who need a confirmation email (sent by the caller after commit). */
  toConfirm: { id: number; email: string; version: number }[];
}

/**
 * Writes the checked rows in one transaction. Without `confirmed`, active or
 * unspecified rows become pending (the caller sends confirmations). Rows that say
 * unsubscribed/bounced/complained keep that status, so a restore keeps its
 * suppression list and nobody who left is written to again.
 */
export async function importSubscribers(db: Db, rows: ImportRow[], opts: ImportOptions): Promise<ImportResult> {
  if (opts.confirmed && !opts.consentNote?.trim()) throw new Error("a consent note is required with --confirmed");
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    const emails = rows.map((r) => r.email.toLowerCase());
    const { rows: present } = await tx.execute<{ e: string }>(
      sql`select lower(email) as e from subscribers where lower(email) = any(${sql.param(emails)}::text[])`,
    );
    const existingSet = new Set(present.map((p) => p.e));
    const fresh = rows.filter((r) => !existingSet.has(r.email.toLowerCase()));

    const created: { id: number; email: string; signupVersion: number; status: string; row: ImportRow }[] = [];
    const CHUNK = 500;
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      const values = chunk.map((r) => {
        const suppressed = (SUPPRESSED as readonly string[]).includes(r.status ?? "");
        // --confirmed keeps an explicit "pending" (a restore), and makes unspecified or active rows active.
        const status = suppressed ? r.status! : opts.confirmed ? (r.status ?? "active") : "pending";
        const vouched = opts.confirmed && status === "active";
        const confirmedAt = status === "active" || suppressed ? (r.confirmed_at ?? (status === "active" ? now : null)) : null;
        return {
          email: r.email,
          status,
          timezone: r.timezone,
          sendHour: r.send_hour,
          frequency: r.frequency,
          weekday: r.weekday,
          maxPapers: r.max_papers,
          sendWhenEmpty: r.send_when_empty,
          addTrending: r.add_trending,
          pausedAt: r.paused_at ?? null,
          // The consent record the operator vouches for with --confirmed belongs to those it makes active.
          consentAt: r.consent_at ?? (vouched ? now : null),
          consentIp: r.consent_ip ?? null,
          consentUserAgent: r.consent_user_agent ?? null,
          consentNote: r.consent_note ?? (vouched ? (opts.consentNote?.trim() ?? null) : null),
          confirmedAt,
          unsubscribedAt: r.unsubscribed_at ?? (status === "unsubscribed" ? now : null),
          createdAt: r.created_at ?? now,
          updatedAt: now,
        };
      });
      const inserted = await tx
        .insert(subscribers)
        .values(values)
        .returning({ id: subscribers.id, email: subscribers.email, signupVersion: subscribers.signupVersion, status: subscribers.status });
      inserted.forEach((s, j) => {
        const row = chunk[j];
        if (row && s.email) created.push({ id: s.id, email: s.email, signupVersion: s.signupVersion, status: s.status, row });
      });
      opts.onProgress?.(Math.min(i + chunk.length, fresh.length));
    }

    // Topics, set-based: each distinct topic once, then every link in one statement per chunk.
    const distinct = [...new Set(created.flatMap((c) => c.row.topics.map(normalizeTopic)))];
    if (distinct.length > 0) {
      await tx.execute(sql`insert into topics (query) select unnest(${sql.param(distinct)}::text[]) on conflict (query) do nothing`);
      const links: { s: number; q: string; l: string; at: string }[] = [];
      for (const c of created) {
        const seen = new Set<string>();
        c.row.topics.forEach((label, i) => {
          const q = normalizeTopic(label);
          if (seen.has(q)) return;
          seen.add(q);
          // Spaced by a millisecond so the subscriber's topics read back in the order given.
          links.push({ s: c.id, q, l: label, at: new Date(now.getTime() + i).toISOString() });
        });
      }
      for (let i = 0; i < links.length; i += 5000) {
        const part = links.slice(i, i + 5000);
        await tx.execute(sql`
          insert into subscriber_topics (subscriber_id, topic_id, label, created_at)
          select x.s, t.id, x.l, x.at
          from unnest(${sql.param(part.map((p) => p.s))}::bigint[], ${sql.param(part.map((p) => p.q))}::text[],
                      ${sql.param(part.map((p) => p.l))}::text[], ${sql.param(part.map((p) => p.at))}::timestamptz[]) as x(s, q, l, at)
          join topics t on t.query = x.q`);
      }
    }

    // --confirmed writes to nobody; a pending row it restores stays as it was.
    const toConfirm = created.filter((c) => !opts.confirmed && c.status === "pending");
    // Their confirmation links name a pending signup holding what the import stored.
    for (let i = 0; i < toConfirm.length; i += 5000) await insertPendingFromStored(tx, toConfirm.slice(i, i + 5000).map((c) => c.id), "import-confirm");
    return {
      created: created.length,
      existing: rows.filter((r) => existingSet.has(r.email.toLowerCase())).map((r) => r.email),
      toConfirm: toConfirm.map((c) => ({ id: c.id, email: c.email, version: c.signupVersion })),
    };
  });
}
