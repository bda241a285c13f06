import pg from "pg";
import type { DigestPaper } from "./digest-input.js";

/**
 * The papers of a batch of digests, as the renderer needs them, in three small
 * queries whatever the batch's size.
 *
 * A digest stores its papers' ids and, per paper, the ids of the topics that matched
 * and the matched words (digests.matches). Topic ids become the subscriber's own
 * spelling of the topic (subscriber_topics.label), or the normalized topic when they
 * have stopped following it since: looked up once per batch, not once per paper.
 */

interface PaperRow {
  digest_id: number;
  subscriber_id: number;
  paper_id: number;
  rank: number;
  m: Match;
  first: boolean;
  title: string | null;
  abstract: string | null;
  authors: string[] | null;
  upvotes: number | null;
  arxiv_url: string | null;
  pdf_url: string | null;
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

type PaperBody = Omit<DigestPaper, "rank" | "matchedTopics" | "matchedWords" | "id" | "trending">;

/** A paper shared by many digests of the batch is transferred once: its columns are only filled on its first row. */
const PAPERS_SQL = `
select x.digest_id, x.subscriber_id, x.paper_id, x.rank, x.m, x.first,
       case when x.first then p.title end as title, case when x.first then p.abstract end as abstract,
       case when x.first then p.authors end as authors, case when x.first then p.upvotes end as upvotes,
       case when x.first then p.arxiv_url end as arxiv_url, case when x.first then p.pdf_url end as pdf_url,
       case when x.first then p.hf_url end as hf_url, case when x.first then p.github_repo end as github_repo,
       case when x.first then p.project_page end as project_page, case when x.first then p.ai_summary end as ai_summary,
       case when x.first then to_char(p.listing_day, 'YYYY-MM-DD') end as listing_day
from (
  select d.id as digest_id, d.subscriber_id, e.paper_id, e.rank::int as rank, e.m,
         row_number() over (partition by e.paper_id order by d.id) = 1 as first
  from digests d
  cross join lateral rows from (unnest(d.paper_ids), jsonb_array_elements(d.matches)) with ordinality as e(paper_id, m, rank)
  where d.id = any($1::bigint[])
) x
join papers p on p.id = x.paper_id
order by x.digest_id, x.rank`;

const LABELS_SQL = `select subscriber_id, topic_id, label from subscriber_topics where subscriber_id = any($1::bigint[])`;
const TOPICS_SQL = `select id, query from topics where id = any($1::bigint[])`;

const JSONB_OID = 3802;

/**
 * A row parser for one batch query in which the same match (same topics, same words)
 * repeats across many rows: each distinct value is parsed once and the rows share it
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
  const { rows } = await pool.query<PaperRow>({ name: "digest_batch_papers", text: PAPERS_SQL, values: [digestIds], types: sharedJson() });
  const subscriberIds = [...new Set(rows.map((r) => Number(r.subscriber_id)))];
  const labels = new Map<string, string>();
  if (subscriberIds.length > 0) {
    const found = await pool.query<{ subscriber_id: number; topic_id: number; label: string }>({
      name: "digest_batch_labels",
      text: LABELS_SQL,
      values: [subscriberIds],
    });
    for (const l of found.rows) labels.set(`${l.subscriber_id}:${l.topic_id}`, l.label);
  }
  const unfollowed = new Set<number>();
  for (const r of rows) for (const t of r.m.topics ?? []) if (!labels.has(`${r.subscriber_id}:${t}`)) unfollowed.add(t);
  const queries = new Map<number, string>();
  if (unfollowed.size > 0) {
    const found = await pool.query<{ id: number; query: string }>({ name: "digest_batch_topics", text: TOPICS_SQL, values: [[...unfollowed]] });
    for (const t of found.rows) queries.set(Number(t.id), t.query);
  }

  const bodies = new Map<number, PaperBody>();
  for (const r of rows) {
    if (!r.first) continue;
    bodies.set(Number(r.paper_id), {
      title: r.title ?? "",
      abstract: r.abstract ?? "",
      authors: r.authors ?? [],
      upvotes: r.upvotes ?? 0,
      arxivUrl: r.arxiv_url ?? "",
      pdfUrl: r.pdf_url ?? "",
      hfUrl: r.hf_url,
      githubRepo: r.github_repo,
      projectPage: r.project_page,
      aiSummary: r.ai_summary,
      ...(r.listing_day ? { listingDay: r.listing_day } : {}),
    });
  }
  const byDigest = new Map<number, DigestPaper[]>();
  for (const r of rows) {
    const paperId = Number(r.paper_id);
    const body = bodies.get(paperId);
    if (!body) continue;
    const digestId = Number(r.digest_id);
    let list = byDigest.get(digestId);
    if (!list) byDigest.set(digestId, (list = []));
    const matchedTopics = (r.m.topics ?? [])
      .map((t) => labels.get(`${r.subscriber_id}:${t}`) ?? queries.get(t))
      .filter((l): l is string => l !== undefined);
    list.push({ ...body, id: paperId, rank: r.rank, matchedTopics, matchedWords: r.m.words ?? [], trending: r.m.trending ?? null });
  }
  return byDigest;
}
