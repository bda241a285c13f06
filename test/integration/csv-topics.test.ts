import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers as subscribersCommand } from "../../src/main/cli/subscribers.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

describe("CSV import: topics in a cell with line breaks", () => {
  let rt: TestRuntime;
  let dir: string;
  beforeAll(async () => {
    rt = await createTestRuntime();
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-csv-"));
  });
  afterAll(async () => {
    await rt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function importFile(csv: string) {
    const file = path.join(dir, `import-${Date.now()}.csv`);
    await writeFile(file, csv);
    const err: string[] = [];
    const out = new Writable({ write: (_c, _e, cb) => cb() });
    try {
      await subscribersCommand(rt, ["import", file, "--confirmed", "--consent-note", "newsletter migration"], { out, err: (l) => err.push(l), progress: false });
      return { ok: true, err: err.join("\n"), file };
    } catch (e) {
      return { ok: false, err: [...err, (e as Error).message].join("\n"), file };
    }
  }

  it("a quoted cell with a line break becomes separate topics, stored as the form would store them", async () => {
    const res = await importFile('email,topics\r\nines@example.org,"diffusion models\r\nreasoning"\r\njonas@example.org,"Mamba OR SSM\n\nagents"\r\n');
    expect(res.err).toContain("imported 2 subscribers");
    const { rows } = await rt.db.execute<{ email: string; labels: string[] }>(sql`
      select s.email, array_agg(st.label order by st.created_at, st.topic_id) as labels
      from subscribers s join subscriber_topics st on st.subscriber_id = s.id group by s.email order by s.email`);
    expect(rows).toEqual([
      { email: "ines@example.org", labels: ["diffusion models", "reasoning"] },
      { email: "jonas@example.org", labels: ["Mamba OR SSM", "agents"] },
    ]);
    const { rows: topics } = await rt.db.execute<{ query: string }>(sql`select query from topics order by query`);
    expect(topics.map((t) => t.query)).toEqual(["agents", "diffusion models", "mamba or ssm", "reasoning"]);
  });

  it("a row whose cell holds a hostile line is refused naming its line and topic, and nothing is imported", async () => {
    const { rows: before } = await rt.db.execute<{ n: number }>(sql`select count(*)::int as n from subscribers`);
    const res = await importFile(`email,topics\r\nkim@example.org,"agents\r\n${"-".repeat(40)}"\r\nlea@example.org,"ok\u0000topic"\r\n`);
    expect(res.ok).toBe(false);
    expect(res.err).toContain(`${res.file}:2: topics.1:`);
    expect(res.err).toContain(`${res.file}:4: topics.0:`);
    const { rows: after } = await rt.db.execute<{ n: number }>(sql`select count(*)::int as n from subscribers`);
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});
