import type pg from "pg";
import type { DigestInput } from "./digest-input.js";
import { loadBatchPapers } from "./batch-papers.js";

export interface StoredDigest {
  input: DigestInput;
  tokenVersion: number;
  erased: boolean;
}

/** One digest with its subscriber and papers, as the browser view renders it. */
export async function loadDigest(pool: pg.Pool, digestId: number): Promise<StoredDigest | null> {
  const { rows } = await pool.query<{
    id: number;
    period: string;
    subscriber_id: number;
    email: string | null;
    erased: boolean;
    token_version: number;
    feed_version: number;
    frequency: "daily" | "weekly";
    timezone: string;
  }>(
    `select d.id, to_char(d.period, 'YYYY-MM-DD') as period, d.subscriber_id, s.email, s.erased_at is not null as erased,
            s.token_version, s.feed_version, s.frequency, s.timezone
     from digests d join subscribers s on s.id = d.subscriber_id where d.id = $1`,
    [digestId],
  );
  const d = rows[0];
  if (!d) return null;
  const papers = (await loadBatchPapers(pool, [digestId])).get(digestId) ?? [];
  return {
    tokenVersion: d.token_version,
    erased: d.erased || !d.email,
    input: {
      digestId: d.id,
      period: d.period,
      recipient: { subscriberId: d.subscriber_id, tokenVersion: d.token_version, feedVersion: d.feed_version, email: d.email ?? "", frequency: d.frequency, timezone: d.timezone },
      papers,
    },
  };
}
