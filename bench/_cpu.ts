import { readFileSync } from "node:fs";
import type pg from "pg";

/** CPU microseconds a process has used (utime + stime from Linux /proc, in 10 ms ticks), 0 when unknown. */
export function processCpu(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** CPU microseconds used so far by each Postgres backend serving the pool's database (autovacuum included). */
export async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>("select pid from pg_stat_activity where datname = current_database()");
  return new Map(rows.map(({ pid }) => [pid, processCpu(pid)]));
}

/** CPU microseconds the processes of `after` spent since `before` (a process new since then counts from 0). */
export function cpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}
