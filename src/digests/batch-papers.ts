import pg from "pg";
import type { DigestPaper } from "./digest-input.js";

/**
 * The papers of a batch of digests, as the renderer needs them, in four small
 * queries whatever the batch's size: the digests (their paper ids and matches, one row
 * each), the batch's distinct papers (one row each), topic labels and unfollowed topics.
 * A row per digest and paper (13 per digest, most of their columns empty) cost the pg
 * driver and Postgres more than the pairing of ids and matches here.
 *
 * A digest stores its papers' ids and, per paper, the ids of the topics that matched
 * and the matched words (digests.matches). Topic ids become the subscriber's own
 * spelling of the topic (subscriber_topics.label), or the normalized topic when they
 * have stopped following it since: looked up once per batch, not once per paper.
 */

interface DigestRow {
  id: number;
  subscriber_id: number;
  /** bigint[]: pg gives its elements as strings. */
  paper_ids: string[];
  matches: Match[];
}

interface PaperRow {
  id: number;
  title: string;
  abstract: string;
  authors: string[];
  upvotes: number;
  arxiv_url: string;
  pdf_url: string;
  hf_url: string | null;
  github_repo: string | null;
  project_page: string | null;
  ai_summary: string | null;
  listing_day: string | null;
}

interface Match {
  topics?: number[];
  words?: string[];
  trending?: number;
}

/**
 * A paper as every digest of the batch has it, with the per-digest keys already there:
 * spreading it and only replacing keys is V8's fast object clone, while a spread that adds
 * keys took ~10 µs per paper row.
 */
type PaperBody = DigestPaper & { id: number };

const DIGESTS_SQL = `select id, subscriber_id, paper_ids, matches from digests where id = any($1::bigint[]) order by id`;

const PAPERS_SQL = `
select id, title, abstract, authors, upvotes, arxiv_url, pdf_url, hf_url, github_repo, project_page, ai_summary,
       to_char(listing_day, 'YYYY-MM-DD') as listing_day
from papers where id = any($1::bigint[])`;

const LABELS_SQL = `select subscriber_id, topic_id, label from subscriber_topics where subscriber_id = any($1::bigint[])`;
const TOPICS_SQL = `select id, query from topics where id = any($1::bigint[])`;

const JSONB_OID = 3802;

/**
 * A row parser for one batch query in which the same matches (same topics, same words)
 * may repeat across rows: each distinct value is parsed once and the rows share it
 * (nothing downstream changes it), so equal matches are also the same object.
 */
function sharedJson(): { getTypeParser: (oid: number, format?: "text" | "binary") => (value: string) => unknown } {
  const parsed = new Map<string, unknown>();
  return {
    getTypeParser(oid, format) {
      const parser = pg.types.getTypeParser(oid, format ?? "text") as (value: string) => unknown;
      if (oid !== JSONB_OID || format === "binary") return parser;
      return (value) => {
        let v = parsed.get(value);
        if (v === undefined) parsed.set(value, (v = parser(value)));
        return v;
      };
    },
  };
}

export async function loadBatchPapers(pool: pg.Pool, digestIds: number[]): Promise<Map<number, DigestPaper[]>> {
  const { rows: digests } = await pool.query<DigestRow>({ name: "digest_batch_digests", text: DIGESTS_SQL, values: [digestIds], types: sharedJson() });
  const paperIds = new Set<number>();
  for (const d of digests) for (const p of d.paper_ids) paperIds.add(Number(p));
  const { rows: papers } = paperIds.size > 0 ? await pool.query<PaperRow>({ name: "digest_papers_by_id", text: PAPERS_SQL, values: [[...paperIds]] }) : { rows: [] };
  const subscriberIds = [...new Set(digests.map((d) => Number(d.subscriber_id)))];
  // By subscriber, then topic: numbers as keys, no "subscriber:topic" string built and hashed per paper of every digest.
  const labels = new Map<number, Map<number, string>>();
  if (subscriberIds.length > 0) {
    const found = await pool.query<{ subscriber_id: number; topic_id: number; label: string }>({
      name: "digest_batch_labels",
      text: LABELS_SQL,
      values: [subscriberIds],
    });
    for (const l of found.rows) {
      const sub = Number(l.subscriber_id);
      let own = labels.get(sub);
      if (!own) labels.set(sub, (own = new Map<number, string>()));
      own.set(Number(l.topic_id), l.label);
    }
  }
  const unfollowed = new Set<number>();
  for (const d of digests) {
    const own = labels.get(Number(d.subscriber_id));
    for (const m of d.matches) for (const t of m?.topics ?? []) if (!own?.has(t)) unfollowed.add(t);
  }
  const queries = new Map<number, string>();
  if (unfollowed.size > 0) {
    const found = await pool.query<{ id: number; query: string }>({ name: "digest_batch_topics", text: TOPICS_SQL, values: [[...unfollowed]] });
    for (const t of found.rows) queries.set(Number(t.id), t.query);
  }

  const bodies = new Map<number, PaperBody>();
  for (const r of papers) {
    const id = Number(r.id);
    bodies.set(id, {
      id,
      rank: 0,
      title: r.title,
      abstract: r.abstract,
      authors: r.authors,
      upvotes: r.upvotes,
      arxivUrl: r.arxiv_url,
      pdfUrl: r.pdf_url,
      hfUrl: r.hf_url,
      githubRepo: r.github_repo,
      projectPage: r.project_page,
      aiSummary: r.ai_summary,
      matchedTopics: [],
      matchedWords: [],
      trending: null,
      ...(r.listing_day ? { listingDay: r.listing_day } : {}),
    });
  }
  const byDigest = new Map<number, DigestPaper[]>();
  const noWords: string[] = [];
  for (const d of digests) {
    const own = labels.get(Number(d.subscriber_id));
    const list: DigestPaper[] = [];
    // paper_ids and matches are parallel arrays, best first: the rank is the position.
    for (let i = 0; i < d.paper_ids.length; i++) {
      // A paper deleted since the digest was planned is left out.
      const body = bodies.get(Number(d.paper_ids[i]));
      if (!body) continue;
      const m: Match = d.matches[i] ?? {};
      const matchedTopics: string[] = [];
      for (const t of m.topics ?? []) {
        const label = own?.get(t) ?? queries.get(t);
        if (label !== undefined) matchedTopics.push(label);
      }
      list.push({ ...body, rank: i + 1, matchedTopics, matchedWords: m.words ?? noWords, trending: m.trending ?? null });
    }
    if (list.length > 0) byDigest.set(Number(d.id), list);
  }
  return byDigest;
}
