import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Db } from "../db/client.js";
import type { Mailer } from "../mail/mailer.js";
import { headerSafe } from "../mail/headers.js";
import { listingStamp, papersByArxivIds, papersOfDays, type ListedPaper } from "../papers/listing.js";
import { previewTopics } from "../digests/preview.js";
import type { DigestPaper } from "../digests/digest-input.js";
import type { DigestRenderer } from "../digests/render.js";

export interface TestDigestDeps {
  db: Db;
  pool: pg.Pool;
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
    const { day, papers } = topics.length > 0 ? await topicPapers(deps, topics) : await trendingPapers(deps.pool);
    const rendered = deps.renderer.render({
      digestId: 0,
      period: day ?? new Date().toISOString().slice(0, 10),
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

/** A listed paper as a digest shows it, at `rank`. */
function digestPaper(p: ListedPaper, rank: number, matched: { topics: string[]; words: string[] }, trending: number | null): DigestPaper {
  return {
    rank,
    title: p.title,
    abstract: p.abstract,
    authors: p.authors,
    upvotes: p.upvotes,
    arxivUrl: p.arxivUrl,
    pdfUrl: p.pdfUrl,
    hfUrl: p.hfUrl,
    githubRepo: p.githubRepo,
    projectPage: p.projectPage,
    aiSummary: p.aiSummary,
    matchedTopics: matched.topics,
    matchedWords: matched.words,
    trending,
  };
}

/** What the topics match on the latest listing day, scored as a digest would be. */
async function topicPapers(deps: TestDigestDeps, topics: string[]): Promise<{ day: string | null; papers: DigestPaper[] }> {
  const preview = await previewTopics(deps.db, topics, { limit: 20 });
  const listed = new Map((await papersByArxivIds(deps.pool, preview.papers.map((p) => p.arxivId))).map((p) => [p.arxivId, p]));
  const papers: DigestPaper[] = [];
  for (const p of preview.papers) {
    const paper = listed.get(p.arxivId);
    if (paper) papers.push(digestPaper(paper, papers.length + 1, { topics: p.matchedTopics, words: p.matchedWords }, null));
  }
  return { day: preview.day, papers };
}

/** The latest listing day's most upvoted papers, as a trending digest shows them. */
async function trendingPapers(pool: pg.Pool): Promise<{ day: string | null; papers: DigestPaper[] }> {
  const { from: day } = await listingStamp(pool, null);
  const listed = day ? await papersOfDays(pool, day, day, TRENDING_TEST_PAPERS) : [];
  return { day, papers: listed.map((p, i) => digestPaper(p, i + 1, { topics: [], words: [] }, p.upvotes)) };
}
