import type pg from "pg";

/**
 * The papers listing queries: what the Daily Papers page, its feeds and the trending
 * test digest read. A listing day is a calendar date (the HF daily list or the arXiv
 * announcement day); within days papers are ranked by upvotes, ties to the more
 * recent paper, as a trending digest ranks them (digests/trending.ts).
 */

export interface ListedPaper {
  id: number;
  arxivId: string;
  title: string;
  abstract: string;
  authors: string[];
  upvotes: number;
  listingDay: string;
  publishedAt: Date | null;
  firstSeenAt: Date;
  updatedAt: Date;
  arxivUrl: string;
  pdfUrl: string;
  hfUrl: string | null;
  githubRepo: string | null;
  projectPage: string | null;
  aiSummary: string | null;
  aiKeywords: string[];
}

/** What a listing page shows depends on exactly this; it is also what its ETag is made of. */
export interface ListingStamp {
  /** The first and last listing day shown (the latest day when none was asked for); null when there are no papers. */
  from: string | null;
  to: string | null;
  count: number;
  /** Latest change to any paper of those days. */
  updatedAt: Date | null;
  /** The nearest listing days with papers before `from` and after `to`. */
  prev: string | null;
  next: string | null;
}

const COLUMNS = `p.id, p.arxiv_id, p.title, p.abstract, p.authors, p.upvotes, to_char(p.listing_day, 'YYYY-MM-DD') as listing_day,
  p.published_at, p.first_seen_at, p.updated_at, p.arxiv_url, p.pdf_url, p.hf_url, p.github_repo, p.project_page,
  p.ai_summary, p.ai_keywords`;

interface Row {
  id: number;
  arxiv_id: string;
  title: string;
  abstract: string;
  authors: string[];
  upvotes: number;
  listing_day: string;
  published_at: Date | null;
  first_seen_at: Date;
  updated_at: Date;
  arxiv_url: string;
  pdf_url: string;
  hf_url: string | null;
  github_repo: string | null;
  project_page: string | null;
  ai_summary: string | null;
  ai_keywords: string[];
}

const toPaper = (r: Row): ListedPaper => ({
  id: Number(r.id),
  arxivId: r.arxiv_id,
  title: r.title,
  abstract: r.abstract,
  authors: r.authors,
  upvotes: r.upvotes,
  listingDay: r.listing_day,
  publishedAt: r.published_at,
  firstSeenAt: r.first_seen_at,
  updatedAt: r.updated_at,
  arxivUrl: r.arxiv_url,
  pdfUrl: r.pdf_url,
  hfUrl: r.hf_url,
  githubRepo: r.github_repo,
  projectPage: r.project_page,
  aiSummary: r.ai_summary,
  aiKeywords: r.ai_keywords,
});

/** Upvotes first, then the more recent paper: the trending order. */
export const TRENDING_ORDER = "p.upvotes desc, p.published_at desc nulls last, p.first_seen_at desc, p.id desc";

const STAMP_SQL = `
with d as (
  select coalesce($1::date, (select max(listing_day) from papers)) as f,
         coalesce($2::date, $1::date, (select max(listing_day) from papers)) as t
)
select to_char(d.f, 'YYYY-MM-DD') as from_day, to_char(d.t, 'YYYY-MM-DD') as to_day, s.n::int as count, s.updated_at,
       to_char((select max(listing_day) from papers where listing_day < d.f), 'YYYY-MM-DD') as prev,
       to_char((select min(listing_day) from papers where listing_day > d.t), 'YYYY-MM-DD') as next
from d
cross join lateral (select count(*) as n, max(p.updated_at) as updated_at from papers p where p.listing_day between d.f and d.t) s`;

/**
 * The days `from`..`to` (both null: the latest listing day) with their paper count,
 * latest change and neighbours, in one round trip over papers_listing_day_idx.
 */
export async function listingStamp(pool: pg.Pool, from: string | null, to: string | null = from): Promise<ListingStamp> {
  const { rows } = await pool.query<{ from_day: string | null; to_day: string | null; count: number; updated_at: Date | null; prev: string | null; next: string | null }>({
    name: "listing_stamp",
    text: STAMP_SQL,
    values: [from, to],
  });
  const r = rows[0];
  return {
    from: r?.from_day ?? null,
    to: r?.to_day ?? null,
    count: r?.count ?? 0,
    updatedAt: r?.updated_at ?? null,
    prev: r?.prev ?? null,
    next: r?.next ?? null,
  };
}

/** The papers of the listing days from..to, in trending order. */
export async function papersOfDays(pool: pg.Pool, from: string, to: string, limit = 200): Promise<ListedPaper[]> {
  const { rows } = await pool.query<Row>({
    name: "listing_papers_of_days",
    text: `select ${COLUMNS} from papers p where p.listing_day between $1::date and $2::date order by ${TRENDING_ORDER} limit $3`,
    values: [from, to, limit],
  });
  return rows.map(toPaper);
}

/** Papers whose `column` is one of `keys`, in the order of `keys`; keys that name no paper are left out. */
async function papersInOrder(pool: pg.Pool, name: string, column: "id" | "arxiv_id", type: "bigint" | "text", keys: (number | string)[]): Promise<ListedPaper[]> {
  if (keys.length === 0) return [];
  const { rows } = await pool.query<Row>({
    name,
    text: `select ${COLUMNS} from papers p join unnest($1::${type}[]) with ordinality as x(k, o) on x.k = p.${column} order by x.o`,
    values: [keys],
  });
  return rows.map(toPaper);
}

/** Papers by id, in the order of `ids`. */
export const papersByIds = (pool: pg.Pool, ids: number[]) => papersInOrder(pool, "listing_papers_by_ids", "id", "bigint", ids);

/** Papers by arXiv id, in the order of `arxivIds`; ids that name no paper are left out. */
export const papersByArxivIds = (pool: pg.Pool, arxivIds: string[]) => papersInOrder(pool, "listing_papers_by_arxiv_ids", "arxiv_id", "text", arxivIds);

/** The `perDay` most upvoted papers of each of the latest `days` listing days, latest day first. */
export async function topPapersPerDay(pool: pg.Pool, days: number, perDay: number): Promise<ListedPaper[]> {
  const { rows } = await pool.query<Row>({
    name: "listing_top_per_day",
    text: `
      -- The latest days one index probe each (a loose index scan), not a scan of every day.
      with recursive d(listing_day, n) as (
        select max(listing_day), 1 from papers
        union all
        select (select max(p.listing_day) from papers p where p.listing_day < d.listing_day), d.n + 1
        from d where d.listing_day is not null and d.n < $1
      )
      select ${COLUMNS} from d
      cross join lateral (select * from papers p where p.listing_day = d.listing_day order by ${TRENDING_ORDER} limit $2) p
      order by p.listing_day desc, ${TRENDING_ORDER}`,
    values: [days, perDay],
  });
  return rows.map(toPaper);
}
