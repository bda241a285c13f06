import { sql } from "drizzle-orm";
import { AppError } from "../errors.js";
import { verifyFeedbackToken, type Vote } from "./tokens.js";
import type { Queryable } from "../db/client.js";
import { TOPIC_MAX, TOPICS_MAX } from "./topics.js";

/**
 * Votes: a subscriber's "more like this" (+1) and "less like this" (−1) on papers of
 * their digests. One per subscriber and paper; the last vote wins and undo deletes it.
 * Only the subscriber's own signed links and manage page read or change them.
 */

/** The paper a feedback page shows. */
export interface VotedPaper {
  id: number;
  arxivId: string;
  title: string;
  authors: string[];
  url: string;
}

export interface VoteRecord {
  paper: VotedPaper;
  vote: Vote;
  votedAt: Date;
}

/** How many recent votes the manage page and the export list. */
export const RECENT_VOTES = 20;
/** Suggested topics on the manage page. */
export const SUGGESTIONS = 5;

type PaperRow = { id: number | string; arxiv_id: string; title: string; authors: string[]; hf_url: string | null; arxiv_url: string };
const paperOf = (r: PaperRow): VotedPaper => ({ id: Number(r.id), arxivId: r.arxiv_id, title: r.title, authors: r.authors, url: r.hf_url ?? r.arxiv_url });

export async function findPaper(db: Queryable, paperId: number): Promise<VotedPaper | null> {
  const { rows } = await db.execute<PaperRow>(sql`select id, arxiv_id, title, authors, hf_url, arxiv_url from papers where id = ${paperId}`);
  return rows[0] ? paperOf(rows[0]) : null;
}

/**
 * Records a vote; idempotent. The same vote again keeps its time (a scanner or a
 * double click does not make it look fresher); a changed vote counts from now.
 * False when the paper does not exist (nothing is stored).
 */
export async function recordVote(db: Queryable, subscriberId: number, paperId: number, vote: Vote, now = new Date()): Promise<boolean> {
  const { rows } = await db.execute<{ ok: number }>(sql`
    insert into votes (subscriber_id, paper_id, vote, voted_at)
    select ${subscriberId}, p.id, ${vote}, ${now.toISOString()}::timestamptz from papers p where p.id = ${paperId}
    on conflict (subscriber_id, paper_id) do update
      set vote = excluded.vote,
          voted_at = case when votes.vote = excluded.vote then votes.voted_at else excluded.voted_at end
    returning 1 as ok`);
  return rows.length > 0;
}

/** Removes the subscriber's vote on a paper (undo); true when there was one. */
export async function removeVote(db: Queryable, subscriberId: number, paperId: number): Promise<boolean> {
  const { rows } = await db.execute(sql`delete from votes where subscriber_id = ${subscriberId} and paper_id = ${paperId} returning 1`);
  return rows.length > 0;
}

/** The subscriber's votes, newest first (`limit` null: all of them, for the data export). */
export async function votesOf(db: Queryable, subscriberId: number, limit: number | null = RECENT_VOTES): Promise<VoteRecord[]> {
  const { rows } = await db.execute<PaperRow & { vote: number; voted_at: string | Date }>(sql`
    select p.id, p.arxiv_id, p.title, p.authors, p.hf_url, p.arxiv_url, v.vote, v.voted_at
    from votes v join papers p on p.id = v.paper_id
    where v.subscriber_id = ${subscriberId}
    order by v.voted_at desc, v.paper_id desc
    ${limit === null ? sql`` : sql`limit ${limit}`}`);
  return rows.map((r) => ({ paper: paperOf(r), vote: r.vote > 0 ? 1 : -1, votedAt: new Date(r.voted_at) }));
}

/**
 * Up to SUGGESTIONS topics from what the subscriber keeps liking: the liked papers' AI
 * keywords and title words (stop words dropped), each counted once per paper, kept when
 * at least two liked papers share it, with disliked papers counting against it. A term
 * the subscriber already follows (same stem query) is not suggested.
 */
export async function suggestedTopics(db: Queryable, subscriberId: number): Promise<string[]> {
  const { rows } = await db.execute<{ term: string }>(sql`
    with terms as (
      select v.paper_id, v.vote, lower(k) as term
      from votes v join papers p on p.id = v.paper_id
      cross join lateral (
        select k from unnest(p.ai_keywords) as k
        union
        select w from regexp_split_to_table(p.title, '[^[:alnum:]-]+') as w where length(w) >= 4
      ) t
      where v.subscriber_id = ${subscriberId} and length(k) between 2 and ${TOPIC_MAX}
    ),
    scored as (
      select term, count(distinct paper_id) filter (where vote > 0) as liked, sum(vote) as score
      from terms group by term
    )
    select s.term from scored s
    where s.liked >= 2 and s.score >= 2
      and websearch_to_tsquery('english', s.term)::text <> ''
      and not exists (
        select 1 from subscriber_topics st join topics t on t.id = st.topic_id
        where st.subscriber_id = ${subscriberId}
          and websearch_to_tsquery('english', t.query) = websearch_to_tsquery('english', s.term)
      )
    order by s.score desc, length(s.term) desc, s.term
    limit ${SUGGESTIONS}`);
  return rows.map((r) => r.term);
}

/** Whether the subscriber may follow one more topic. */
export const canAddTopic = (current: number) => current < TOPICS_MAX;

/** Whom a feedback link is for, checked: a live subscriber whose links are not revoked, and an existing paper. */
export interface FeedbackTarget {
  subscriber: { id: number; tokenVersion: number };
  paper: VotedPaper;
  vote: Vote;
  current: Vote | null;
}

/**
 * Checks a feedback token and reads what its page shows; changes nothing. A forged,
 * revoked or erased subscriber's token is INVALID_TOKEN; a paper that is gone, NOT_FOUND.
 */
export async function resolveFeedback(db: Queryable, secret: string, token: string): Promise<FeedbackTarget> {
  const claims = verifyFeedbackToken(secret, token);
  const { rows } = await db.execute<{ token_version: number; vote: number | null; present: boolean }>(sql`
    select s.token_version, v.vote, p.id is not null as present
    from subscribers s
    left join papers p on p.id = ${claims.paperId}
    left join votes v on v.subscriber_id = s.id and v.paper_id = ${claims.paperId}
    where s.id = ${claims.subscriberId} and s.erased_at is null and s.email is not null`);
  const row = rows[0];
  if (!row || row.token_version !== claims.version) throw new AppError("INVALID_TOKEN");
  const paper = row.present ? await findPaper(db, claims.paperId) : null;
  if (!paper) throw new AppError("NOT_FOUND", "This paper is no longer in paperboy.");
  return {
    subscriber: { id: claims.subscriberId, tokenVersion: claims.version },
    paper,
    vote: claims.vote,
    current: row.vote === null ? null : row.vote > 0 ? 1 : -1,
  };
}
