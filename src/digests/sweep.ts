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
