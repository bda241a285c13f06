import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asc, sql } from "drizzle-orm";
import { ingestRuns, papers } from "../../src/db/schema.js";
import type { TestDatabase } from "../helpers/db.js";
import { startRecordedServer, type RecordedServer } from "../helpers/recorded-http.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { hfEntry } from "../helpers/papers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("npm run cli -- ingest", () => {
  let rt: TestRuntime;
  let database: TestDatabase;
  let server: RecordedServer;

  beforeAll(async () => {
    rt = await createTestRuntime();
    database = rt.database;
    server = await startRecordedServer();
  });
  afterAll(async () => {
    await server?.close();
    await rt?.close();
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn("npm", ["run", "--silent", "cli", "--", "ingest", ...args], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          NODE_ENV: "test",
          ...runtimeEnv(rt, env),
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  it("fills an empty database from the bundled sample with --source file:data/sample", async () => {
    expect(await database.db.$count(papers)).toBe(0);
    const res = await cli(["--source", "file:data/sample"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("ingest: 3 runs over 3 days: fetched 30, new 30, updated 0, unchanged 0, skipped 0, failed 0");

    const rows = await database.db.select().from(papers).orderBy(asc(papers.arxivId));
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r) => r.listingDay))).toEqual(new Set(["2026-11-25", "2026-11-26", "2026-11-27"]));
    expect(rows.every((r) => r.sources.join() === "file" && r.hfUrl?.startsWith("https://huggingface.co/papers/"))).toBe(true);
    expect(rows.map((r) => r.title)).toContain("Sorting Networks in $O(n\\log n)$ Depth Are Learnable by Transformers");
    expect(rows.some((r) => r.aiKeywords.length === 0) && rows.some((r) => r.aiKeywords.length > 0)).toBe(true);
    // The sample is searchable the way subscribers' topics will search it.
    const { rows: hits } = await database.pool.query<{ n: number }>(
      `select count(*)::int as n from papers where search @@ websearch_to_tsquery('english', 'retrieval augmented generation')`,
    );
    expect(hits[0]?.n).toBeGreaterThanOrEqual(3);
    const runs = await database.db.select().from(ingestRuns);
    expect(runs.map((r) => [r.source, r.status, r.inserted])).toEqual([
      ["file:data/sample", "succeeded", 10],
      ["file:data/sample", "succeeded", 10],
      ["file:data/sample", "succeeded", 10],
    ]);
  });

  it("backfills --from/--to day by day, reports a failed day and exits non-zero", async () => {
    await database.db.execute(sql`truncate papers, ingest_runs restart identity cascade`);
    server.route("/api/daily_papers", (url) => {
      const day = url.searchParams.get("date") ?? "";
      if (day === "2026-11-02") return { status: 200, headers: { "content-type": "text/html" }, body: "<html><title>Bad Gateway</title></html>" };
      return { body: JSON.stringify([hfEntry(`2611.0${day.slice(-2)}01`)]) };
    });
    const res = await cli(["--source", "huggingface", "--from", "2026-11-01", "--to", "2026-11-03"], { HF_API_URL: server.url });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/2026-11-02 {2}huggingface {2}FAILED: huggingface: expected JSON .*got an HTML page \("Bad Gateway"\)/);
    expect(res.stdout).toContain("ingest: 3 runs over 3 days: fetched 2, new 2, updated 0, unchanged 0, skipped 0, failed 1");
    expect(server.requests.map((u) => u.searchParams.get("date"))).toEqual(["2026-11-01", "2026-11-02", "2026-11-03"]);
    const runs = await database.db.select().from(ingestRuns).orderBy(asc(ingestRuns.day));
    expect(runs.map((r) => [r.day, r.status])).toEqual([
      ["2026-11-01", "succeeded"],
      ["2026-11-02", "failed"],
      ["2026-11-03", "succeeded"],
    ]);
    expect((await database.db.select().from(papers)).map((p) => p.arxivId).sort()).toEqual(["2611.00101", "2611.00301"]);
  });
});
