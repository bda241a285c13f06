import type pg from "pg";

/**
 * Digests nobody is sending: still `queued` though nothing about them changed for
 * `staleMs` (their send job failed for good: a database outage longer than its retries,
 * a job removed by an operator), or left `sending` by a dead worker past the lease.
 * Read by key (`id > afterId`), so a sweep pages through any number of them.
 */
export async function staleDigestIds(
  pool: pg.Pool,
  afterId: number,
  limit: number,
  opts: { staleMs: number; leaseMs: number },
): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `select id from digests
     where id > $1
       and ((status = 'queued' and updated_at < now() - make_interval(secs => $3::double precision / 1000))
         or (status = 'sending' and claimed_at < now() - make_interval(secs => $4::double precision / 1000)))
     order by id limit $2`,
    [afterId, limit, opts.staleMs, opts.leaseMs],
  );
  return rows.map((r) => Number(r.id));
}

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
