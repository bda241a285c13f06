import { eq, sql } from "drizzle-orm";
import { subscribers } from "../db/schema.js";
import { AppError } from "../errors.js";
import { verifyToken } from "./tokens.js";
import type { Queryable } from "../db/client.js";

/**
 * A subscriber's own Atom feed of their digests. Its link carries a `feed` token whose
 * version is the subscriber's feed_version, so revoking it (a new link) leaves every
 * other emailed link working, and revoking those (token_version) leaves the feed alone.
 */

export interface FeedOwner {
  id: number;
  tokenVersion: number;
  feedVersion: number;
}

/** The owner of a feed token; the same refusal for a forged, revoked or erased one. */
export async function feedOwner(db: Queryable, secret: string, token: string): Promise<FeedOwner> {
  const claims = verifyToken(secret, token, "feed");
  const [s] = await db
    .select({ id: subscribers.id, tokenVersion: subscribers.tokenVersion, feedVersion: subscribers.feedVersion, email: subscribers.email, erasedAt: subscribers.erasedAt })
    .from(subscribers)
    .where(eq(subscribers.id, claims.subscriberId));
  if (!s || s.erasedAt || s.email === null || s.feedVersion !== claims.version) throw new AppError("INVALID_TOKEN");
  return { id: s.id, tokenVersion: s.tokenVersion, feedVersion: s.feedVersion };
}

/** A new feed link: the old one stops working at once. Returns the new feed_version. */
export async function revokeFeed(db: Queryable, subscriberId: number): Promise<number> {
  const [row] = await db
    .update(subscribers)
    .set({ feedVersion: sql`${subscribers.feedVersion} + 1`, updatedAt: new Date() })
    .where(eq(subscribers.id, subscriberId))
    .returning({ feedVersion: subscribers.feedVersion });
  if (!row) throw new AppError("INVALID_TOKEN");
  return row.feedVersion;
}

export interface ArchivedDigest {
  id: number;
  period: string;
  paperCount: number;
  sentAt: Date;
}

/** The subscriber's sent digests, newest first (the manage page's archive and the feed). */
export async function sentDigests(db: Queryable, subscriberId: number, limit = 60): Promise<ArchivedDigest[]> {
  const { rows } = await db.execute<{ id: number; period: string; paper_count: number; sent_at: Date | string }>(sql`
    select id, to_char(period, 'YYYY-MM-DD') as period, paper_count, sent_at from digests
    where subscriber_id = ${subscriberId} and status = 'sent' and sent_at is not null
    order by period desc, id desc limit ${limit}`);
  return rows.map((r) => ({ id: Number(r.id), period: r.period, paperCount: r.paper_count, sentAt: new Date(r.sent_at) }));
}
