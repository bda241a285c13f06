import type pg from "pg";

/**
 * Failed digests worth another try, put back to `queued`: failed because the mail
 * server stayed busy or away past the retry window (attempts below `maxAttempts`: busy
 * replies spend none, while a digest that kept killing its worker has used them all),
 * still within their period (planned less than a day ago, or a week for weekly digests)
 * and not overtaken by a newer digest of the same subscriber. Returns their ids.
 */
export async function requeueRetryableFailed(pool: pg.Pool, opts: { maxAttempts: number }): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `update digests d set status = 'queued', claimed_at = null, updated_at = now()
     from subscribers s
     where d.status = 'failed' and s.id = d.subscriber_id and d.attempts < $1
       and d.created_at > now() - case when s.frequency = 'weekly' then interval '7 days' else interval '1 day' end
       and not exists (select 1 from digests n where n.subscriber_id = d.subscriber_id and n.period > d.period)
     returning d.id`,
    [opts.maxAttempts],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}
