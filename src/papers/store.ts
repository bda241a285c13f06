import { sql, type SQL } from "drizzle-orm";
import type { Tx } from "../db/client.js";
import { papers } from "../db/schema.js";
import type { Paper, SourceKind } from "./paper.js";

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

const CHUNK = 500;

const ex = (column: string) => sql.raw(`excluded.${column}`);
const arxivKnowsIt = sql`'arxiv' = any(${papers.sources})`;

/**
 * What an existing row becomes when a source sees the paper again. Each source
 * owns its fields: Hugging Face (and files in its shape) the upvotes, AI fields
 * and HF link; arXiv the categories and, once it has seen a paper, its title,
 * abstract and authors. Whoever comes second fills what the first did not know.
 * The earliest listing day and first_seen_at are kept.
 */
function nextValues(kind: SourceKind): Record<string, { column: SQL; value: SQL }> {
  const hf = kind !== "arxiv";
  const metadata = (col: SQL, name: string) => (hf ? sql`case when ${arxivKnowsIt} then ${col} else ${ex(name)} end` : ex(name));
  const fill = (col: SQL, name: string) => (hf ? sql`coalesce(${ex(name)}, ${col})` : col);
  const list = (col: SQL, name: string, owner: boolean) =>
    owner ? sql`case when cardinality(${ex(name)}) > 0 then ${ex(name)} else ${col} end` : col;
  const c = (name: keyof typeof papers.$inferSelect) => sql`${papers[name]}`;
  return {
    title: { column: c("title"), value: metadata(c("title"), "title") },
    abstract: { column: c("abstract"), value: metadata(c("abstract"), "abstract") },
    authors: { column: c("authors"), value: metadata(c("authors"), "authors") },
    publishedAt: { column: c("publishedAt"), value: sql`coalesce(${ex("published_at")}, ${c("publishedAt")})` },
    listingDay: { column: c("listingDay"), value: sql`least(${c("listingDay")}, ${ex("listing_day")})` },
    upvotes: { column: c("upvotes"), value: hf ? ex("upvotes") : c("upvotes") },
    hfUrl: { column: c("hfUrl"), value: fill(c("hfUrl"), "hf_url") },
    githubRepo: { column: c("githubRepo"), value: fill(c("githubRepo"), "github_repo") },
    projectPage: { column: c("projectPage"), value: fill(c("projectPage"), "project_page") },
    aiSummary: { column: c("aiSummary"), value: fill(c("aiSummary"), "ai_summary") },
    aiKeywords: { column: c("aiKeywords"), value: list(c("aiKeywords"), "ai_keywords", hf) },
    categories: { column: c("categories"), value: list(c("categories"), "categories", !hf) },
    sources: {
      column: c("sources"),
      value: sql`array(select distinct s from unnest(${c("sources")} || ${ex("sources")}) as s order by s)`,
    },
  };
}

/**
 * Upserts papers of one source by arXiv id inside the caller's transaction. A row
 * is only rewritten (and updated_at bumped) when a value really changes, so a
 * repeated run reports its papers as unchanged.
 */
export async function upsertPapers(tx: Tx, kind: SourceKind, batch: Paper[]): Promise<UpsertCounts> {
  const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  const next = nextValues(kind);
  const set: Record<string, SQL> = { updatedAt: sql`now()` };
  for (const [key, { value }] of Object.entries(next)) set[key] = value;
  const columns = Object.values(next).map((n) => n.column);
  const values = Object.values(next).map((n) => n.value);
  const changed = sql`(${sql.join(columns, sql`, `)}) is distinct from (${sql.join(values, sql`, `)})`;

  for (let i = 0; i < batch.length; i += CHUNK) {
    const chunk = batch.slice(i, i + CHUNK);
    const rows = chunk.map((p) => ({
      arxivId: p.arxivId,
      title: p.title,
      abstract: p.abstract,
      authors: p.authors,
      publishedAt: p.publishedAt,
      listingDay: p.listingDay,
      upvotes: p.upvotes ?? 0,
      arxivUrl: p.arxivUrl,
      pdfUrl: p.pdfUrl,
      hfUrl: p.hfUrl,
      githubRepo: p.githubRepo,
      projectPage: p.projectPage,
      aiSummary: p.aiSummary,
      aiKeywords: p.aiKeywords ?? [],
      categories: p.categories ?? [],
      sources: [p.source],
    }));
    const written = await tx
      .insert(papers)
      .values(rows)
      .onConflictDoUpdate({ target: papers.arxivId, set, setWhere: changed })
      .returning({ inserted: sql<boolean>`(xmax = 0)` });
    const inserted = written.filter((w) => w.inserted).length;
    counts.inserted += inserted;
    counts.updated += written.length - inserted;
    counts.unchanged += chunk.length - written.length;
  }
  return counts;
}
