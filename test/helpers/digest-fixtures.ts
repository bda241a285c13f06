import type pg from "pg";

/** Inserts what the planner would have left behind: a subscriber, papers, and a queued digest with its papers. */
export interface SeedOptions {
  email?: string;
  status?: "pending" | "active" | "unsubscribed" | "bounced" | "complained";
  papers?: number;
  title?: (i: number) => string;
  period?: string;
  /** Pad abstracts to about this many characters (benchmarks use ~40 KB digests). */
  abstractChars?: number;
}

let seq = 0;

export async function seedSubscriber(pool: pg.Pool, email: string, status: SeedOptions["status"] = "active"): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `insert into subscribers (email, status, confirmed_at) values ($1, $2, now()) returning id`,
    [email, status],
  );
  return rows[0]!.id;
}

export async function seedPapers(pool: pg.Pool, n: number, opts: Pick<SeedOptions, "title" | "abstractChars"> = {}): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 1; i <= n; i++) {
    const k = ++seq;
    const arxiv = `2511.${String(20000 + k + Math.floor(Math.random() * 1e5)).padStart(5, "0")}${k}`;
    let abstract = `We study diffusion models and test-time compute for reasoning (paper ${k}). Our results show large gains on math and code.`;
    while (opts.abstractChars && abstract.length < opts.abstractChars) abstract += " Further experiments confirm the diffusion effect across scales and tasks.";
    const { rows } = await pool.query<{ id: number }>(
      `insert into papers (arxiv_id, title, abstract, authors, listing_day, upvotes, arxiv_url, pdf_url, hf_url, github_repo)
       values ($1, $2, $3, $4, '2026-11-27', $5, $6, $7, $8, $9) returning id`,
      [
        arxiv,
        opts.title?.(i) ?? `Diffusion reasoning at test-time compute scale ${k}`,
        abstract,
        ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth"],
        i * 3,
        `https://arxiv.org/abs/${arxiv}`,
        `https://arxiv.org/pdf/${arxiv}`,
        i % 2 ? `https://huggingface.co/papers/${arxiv}` : null,
        i % 3 ? null : "example/code",
      ],
    );
    ids.push(rows[0]!.id);
  }
  return ids;
}

export async function seedDigest(pool: pg.Pool, subscriberId: number, paperIds: number[], period = "2026-11-28"): Promise<number> {
  // Each paper matched the topics "diffusion" and "test-time compute" (the subscriber
  // does not follow them, so the email shows them as stored in topics).
  const { rows } = await pool.query<{ id: number }>(
    `with t as (
       insert into topics (query) values ('diffusion'), ('test-time compute')
       on conflict (query) do update set query = excluded.query returning id, query
     )
     insert into digests (subscriber_id, period, status, covers_to, paper_count, paper_ids, matches)
     select $1, $2, 'queued', now(), cardinality($3::bigint[]), $3::bigint[],
            coalesce((select jsonb_agg(jsonb_build_object(
                        'score', 1.0 / r, 'topics', (select jsonb_agg(id order by query) from t),
                        'words', '["diffusion", "test-time", "compute"]'::jsonb) order by r)
                      from unnest($3::bigint[]) with ordinality as u(p, r)), '[]')
     returning id`,
    [subscriberId, period, paperIds],
  );
  return rows[0]!.id;
}

/** One active subscriber with one queued digest of `papers` new papers. */
export async function seedOne(pool: pg.Pool, opts: SeedOptions = {}): Promise<{ subscriberId: number; digestId: number; paperIds: number[] }> {
  const subscriberId = await seedSubscriber(pool, opts.email ?? `reader${++seq}@example.org`, opts.status ?? "active");
  const paperIds = await seedPapers(pool, opts.papers ?? 3, opts);
  const digestId = await seedDigest(pool, subscriberId, paperIds, opts.period);
  return { subscriberId, digestId, paperIds };
}

export async function digestRow(pool: pg.Pool, id: number) {
  const { rows } = await pool.query<{ status: string; attempts: number; message_id: string | null; sent_at: Date | null; error: string | null }>(
    "select status, attempts, message_id, sent_at, error from digests where id = $1",
    [id],
  );
  return rows[0]!;
}
