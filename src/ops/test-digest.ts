import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import type { Mailer } from "../mail/mailer.js";
import { headerSafe } from "../mail/headers.js";
import { TRENDING_ORDER } from "../papers/listing.js";
import { previewTopics, type Preview } from "../digests/preview.js";
import type { DigestPaper } from "../digests/digest-input.js";
import type { DigestRenderer } from "../digests/render.js";

export interface TestDigestDeps {
  db: Db;
  mailer: Mailer;
  /** The process's compiled digest template, shared with the sender and the "view in browser" page. */
  renderer: DigestRenderer;
  mailDomain: string;
}

/** Papers in a trending test digest. */
const TRENDING_TEST_PAPERS = 10;

/**
 * An operator's test digest: what the given topics match on the latest listing day (no
 * topics: that day's most upvoted papers, as a trending digest shows them),
 * rendered with the real template and sent to any address. It belongs to no
 * subscriber and no digest row, so its footer says it is a test and links to the
 * signup page instead of manage/unsubscribe/view links.
 */
export function createTestDigestSender(deps: TestDigestDeps) {
  return async ({ to, topics }: { to: string; topics: string[] }): Promise<{ paperCount: number }> => {
    const preview = topics.length > 0 ? await previewTopics(deps.db, topics, { limit: 20 }) : await trendingPreview(deps.db);
    const ids = preview.papers.map((p) => p.arxivId);
    const { rows } = await deps.db.execute<{
      arxiv_id: string; title: string; abstract: string; authors: string[]; upvotes: number; arxiv_url: string; pdf_url: string;
      hf_url: string | null; github_repo: string | null; project_page: string | null; ai_summary: string | null;
    }>(sql`select arxiv_id, title, abstract, authors, upvotes, arxiv_url, pdf_url, hf_url, github_repo, project_page, ai_summary
           from papers where arxiv_id = any(${sql.param(ids)}::text[])`);
    const byId = new Map(rows.map((r) => [r.arxiv_id, r]));
    const papers: DigestPaper[] = [];
    for (const p of preview.papers) {
      const r = byId.get(p.arxivId);
      if (!r) continue;
      papers.push({
        rank: papers.length + 1,
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
        matchedTopics: p.matchedTopics,
        matchedWords: p.matchedWords,
        trending: topics.length > 0 ? null : r.upvotes,
      });
    }
    const rendered = deps.renderer.render({
      digestId: 0,
      period: preview.day ?? new Date().toISOString().slice(0, 10),
      recipient: { subscriberId: 0, tokenVersion: 0, email: to, frequency: "daily", timezone: "UTC" },
      papers,
      test: true,
    });
    await deps.mailer.send({
      to,
      subject: headerSafe(`[Test] ${rendered.subject}`),
      html: rendered.html,
      text: rendered.text,
      messageId: `<test-digest-${randomBytes(8).toString("hex")}@${deps.mailDomain}>`,
    });
    return { paperCount: papers.length };
  };
}

/** The latest listing day's most upvoted papers, in the shape of a topic preview. */
async function trendingPreview(db: Db): Promise<Preview> {
  const { rows } = await db.execute<{ day: string; arxiv_id: string; title: string; arxiv_url: string; upvotes: number }>(sql`
    select to_char(p.listing_day, 'YYYY-MM-DD') as day, p.arxiv_id, p.title, p.arxiv_url, p.upvotes
    from papers p where p.listing_day = (select max(listing_day) from papers)
    order by ${sql.raw(TRENDING_ORDER)} limit ${TRENDING_TEST_PAPERS}`);
  return {
    day: rows[0]?.day ?? null,
    count: rows.length,
    papers: rows.map((r) => ({ arxivId: r.arxiv_id, title: r.title, url: r.arxiv_url, upvotes: r.upvotes, score: r.upvotes, matchedTopics: [], matchedWords: [] })),
  };
}
