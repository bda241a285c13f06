import { z } from "zod";

/**
 * The one rule for text that comes from people (forms, the JSON API, query strings,
 * CSV imports), checked where it enters so inner code and Postgres never see it raw:
 *
 * - no NUL and no other control character (C0, DEL, C1); tab and line breaks only in
 *   fields where a person can type them (a textarea), where they separate or space
 *   words and are never stored as such;
 * - well-formed Unicode (no lone surrogate halves, no U+FFFD: bytes that were not UTF-8);
 * - in search topics also no bidirectional controls or marks and no zero-width space,
 *   word joiner or BOM (they make a topic read differently from what it matches), and a cap on the
 *   query's operators and words before websearch_to_tsquery sees it (33 nested `-`
 *   overflow Postgres' tsquery stack).
 *
 * Upstream text (paper sources) is cleaned rather than refused: see `stripControls`.
 */

/** Every control character except tab, LF and CR. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS_ALL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu;
const LINE_SPACE = /[\t\r\n]/u;
/** LRE, RLE, PDF, LRO, RLO, the isolates LRI, RLI, FSI, PDI, and the marks LRM, RLM, ALM. */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;
/**
 * Characters that show as nothing and join nothing: zero-width space, word joiner, BOM.
 * (ZWNJ and ZWJ stay: Persian, Indic scripts and emoji need them.)
 */
const INVISIBLE = /[\u200B\u2060\uFEFF]/u;
/** What a decoder puts where bytes were not UTF-8 (a form or query that was not). */
const REPLACEMENT = "\uFFFD";

/** A surrogate half without its partner (matched without the u flag, which would pair them). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const codePoint = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

export interface TextRule {
  /** Tab, CR and LF allowed (a textarea); otherwise one line. */
  multiline?: boolean;
  /** Tab allowed in a single-line value (collapsed to a space by the consumer). */
  tab?: boolean;
  /** Refuse bidi embedding/override/isolate controls. */
  noBidi?: boolean;
  /** How messages name the value ("This …" by default; "" where the page puts the field's name before it). */
  label?: string;
}

/** What is wrong with `value` under the rule, as a sentence for a person; undefined when nothing is. */
export function textProblem(value: string, rule: TextRule = {}): string | undefined {
  const control = CONTROLS.exec(value)?.[0];
  if (control !== undefined) return `contains an invisible control character (${codePoint(control)}); remove it.`;
  if (!rule.multiline) {
    const space = LINE_SPACE.exec(value)?.[0];
    if (space !== undefined && !(space === "\t" && rule.tab)) return `must be one line (it contains ${codePoint(space)}).`;
  }
  if (LONE_SURROGATE.test(value)) return "contains broken Unicode (a lone surrogate); retype it.";
  if (value.includes(REPLACEMENT)) return "contains bytes that are not UTF-8 text (shown as U+FFFD); retype it.";
  if (rule.noBidi) {
    const bidi = BIDI_CONTROLS.exec(value)?.[0];
    if (bidi !== undefined) return `contains a text-direction control (${codePoint(bidi)}) that would make it read differently from what it matches; remove it.`;
    const invisible = INVISIBLE.exec(value)?.[0];
    if (invisible !== undefined) return `contains an invisible character (${codePoint(invisible)}) that would make it match differently from how it reads; remove it.`;
  }
  return undefined;
}

/** A zod string that follows the rule; the issue message names what to fix. */
export function personText(rule: TextRule = {}) {
  return z.string().superRefine((v, ctx) => {
    const problem = textProblem(v, rule);
    if (problem) ctx.addIssue({ code: "custom", message: `${rule.label ?? "This"} ${problem}`.trim() });
  });
}

/** Upstream text with control characters removed (tab and line breaks become spaces). */
export function stripControls(value: string): string {
  return value.replace(CONTROLS_ALL, "").replace(/[\t\r\n]/g, " ").replace(LONE_SURROGATES, "\uFFFD");
}

// ---------------------------------------------------------------- search queries

/** Limits of one topic (a web-search query); far above what a real topic needs. */
export const QUERY_MAX_WORDS = 16;
export const QUERY_MAX_OPERATORS = 8;

/**
 * The operators websearch_to_tsquery reads: `-`/`!` in front of a word (not inside
 * one, as in test-time), `or`, and pairs of quotes.
 */
export function queryComplexity(query: string): { words: number; operators: number } {
  const negations = query.match(/(?<![\p{L}\p{N}])[-!]/gu)?.length ?? 0;
  const ors = query.match(/(?<![\p{L}\p{N}])or(?![\p{L}\p{N}])/giu)?.length ?? 0;
  const quotes = Math.ceil((query.match(/"/g)?.length ?? 0) / 2);
  const words = query.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
  return { words: words - ors, operators: negations + ors + quotes };
}

/** Why a topic is too complex to search, or undefined. */
export function queryProblem(query: string): string | undefined {
  const { words, operators } = queryComplexity(query);
  if (operators > QUERY_MAX_OPERATORS) return `has too many operators (${operators} of -, or and quotes; at most ${QUERY_MAX_OPERATORS}).`;
  if (words > QUERY_MAX_WORDS) return `has too many words (${words}; at most ${QUERY_MAX_WORDS}). Split it into several topics.`;
  return undefined;
}

// ---------------------------------------------------------------- dates

/** The range a listing day may be asked for: arXiv began in 1991; Postgres and JS agree well past 2999. */
export const DAY_MIN = "1991-01-01";
export const DAY_MAX = "2999-12-31";

/** A real calendar date YYYY-MM-DD in [DAY_MIN, DAY_MAX] (2026-02-30 is refused, not rolled over). */
export function isCalendarDay(v: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || v < DAY_MIN || v > DAY_MAX) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

export const calendarDay = z
  .string()
  .refine(isCalendarDay, { message: `must be a calendar date like 2026-11-27, between ${DAY_MIN} and ${DAY_MAX}` });
