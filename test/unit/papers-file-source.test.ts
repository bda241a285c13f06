import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileSource } from "../../src/papers/sources/file.js";
import { hfEntry } from "../helpers/papers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("file source", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-file-source-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the bundled sample: 30 valid papers over three listing days", async () => {
    const source = createFileSource({ path: "data/sample", cwd: root });
    expect(source.name).toBe("file:data/sample");
    const days = await source.days?.();
    expect(days).toEqual(["2026-11-25", "2026-11-26", "2026-11-27"]);
    let total = 0;
    for (const day of days ?? []) {
      const batch = await source.fetchDay(day);
      expect(batch.invalid).toEqual([]);
      expect(batch.papers.every((p) => p.listingDay === day && p.source === "file")).toBe(true);
      total += batch.papers.length;
    }
    expect(total).toBe(30);
  });

  it("dates entries of a file not named by day from submittedOnDailyAt, and reports undatable ones", async () => {
    const file = path.join(dir, "papers.json");
    await writeFile(
      file,
      JSON.stringify([
        hfEntry("2611.60001", { submittedOnDailyAt: "2026-11-20T03:00:00.000Z" }),
        hfEntry("2611.60002", { submittedOnDailyAt: "2026-11-21T23:59:00.000Z" }),
        hfEntry("2611.60003", { submittedOnDailyAt: undefined }),
      ]),
    );
    const source = createFileSource({ path: file });
    expect(await source.days?.()).toEqual(["2026-11-20", "2026-11-21"]);
    const batch = await source.fetchDay("2026-11-21");
    expect(batch.papers.map((p) => p.arxivId)).toEqual(["2611.60002"]);
    expect(batch.invalid).toEqual([{ id: "2611.60003", reason: expect.stringMatching(/no listing day/) as unknown }]);
  });

  it("fails clearly on a missing path and on a file that is not JSON", async () => {
    await expect(createFileSource({ path: path.join(dir, "nope") }).fetchDay("2026-11-20")).rejects.toThrow(/^file:.*nope: no such file or folder/);
    const broken = path.join(dir, "2026-11-20.json");
    await writeFile(broken, '[{"paper": {"id": "2611.0');
    await expect(createFileSource({ path: broken }).fetchDay("2026-11-20")).rejects.toThrow(/2026-11-20\.json is not valid JSON/);
  });
});
