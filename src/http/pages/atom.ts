/**
 * Atom 1.0 (RFC 4287) documents. Every value is XML-escaped here; characters XML 1.0
 * cannot carry at all (NUL and most C0 controls, which upstream text may hold) are dropped.
 */

export interface AtomEntry {
  /** A permanent IRI: the same entry has the same id in every run. */
  id: string;
  title: string;
  updated: Date;
  published?: Date | undefined;
  link: string;
  authors?: string[] | undefined;
  summary?: string | undefined;
  /** HTML, sent escaped as `type="html"`. */
  contentHtml?: string | undefined;
  categories?: string[] | undefined;
}

export interface AtomFeed {
  id: string;
  title: string;
  subtitle?: string | undefined;
  /** The feed's own URL (rel="self") and the page it mirrors (rel="alternate"). */
  self: string;
  alternate: string;
  entries: AtomEntry[];
  /** When there are no entries: the time the feed's content last changed. */
  emptyUpdated?: Date | undefined;
}

// eslint-disable-next-line no-control-regex -- exactly the characters XML 1.0 forbids
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export const xml = (s: string) => s.replace(NOT_XML, "").replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);

/** Atom dates are RFC 3339; whole seconds keep `updated` stable across reads of the same row. */
const date = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** The feed's `updated`: its most recently updated entry (RFC 4287 4.2.15). */
export function feedUpdated(f: Pick<AtomFeed, "entries" | "emptyUpdated">): Date {
  let latest = f.emptyUpdated ?? new Date(0);
  if (f.entries.length > 0) latest = new Date(0);
  for (const e of f.entries) if (e.updated > latest) latest = e.updated;
  return latest;
}

function entry(e: AtomEntry): string {
  return [
    "<entry>",
    `<id>${xml(e.id)}</id>`,
    `<title>${xml(e.title)}</title>`,
    `<updated>${date(e.updated)}</updated>`,
    e.published ? `<published>${date(e.published)}</published>` : "",
    `<link rel="alternate" type="text/html" href="${xml(e.link)}"/>`,
    ...(e.authors ?? []).map((a) => `<author><name>${xml(a)}</name></author>`),
    ...(e.categories ?? []).map((c) => `<category term="${xml(c)}"/>`),
    e.summary ? `<summary>${xml(e.summary)}</summary>` : "",
    e.contentHtml ? `<content type="html">${xml(e.contentHtml)}</content>` : "",
    "</entry>",
  ]
    .filter((l) => l.length > 0)
    .join("\n");
}

export function atomFeed(f: AtomFeed): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<id>${xml(f.id)}</id>`,
    `<title>${xml(f.title)}</title>`,
    f.subtitle ? `<subtitle>${xml(f.subtitle)}</subtitle>` : "",
    `<updated>${date(feedUpdated(f))}</updated>`,
    `<link rel="self" type="application/atom+xml" href="${xml(f.self)}"/>`,
    `<link rel="alternate" type="text/html" href="${xml(f.alternate)}"/>`,
    "<author><name>paperboy</name></author>",
    "<generator>paperboy</generator>",
    ...f.entries.map(entry),
    "</feed>",
    "",
  ]
    .filter((l, i, all) => l.length > 0 || i === all.length - 1)
    .join("\n");
}
