import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { isDay } from "../../days.js";
import { SourceError, type PaperSource, type SourceBatch } from "../paper.js";
import { looseId, mapHfEntry } from "./hf-shape.js";

export interface FileSourceOptions {
  /** The PATH of file:PATH: a JSON file, or a folder of them, in the Hugging Face daily_papers shape. */
  path: string;
  /** Relative paths are resolved against this (the working directory). */
  cwd?: string;
}

interface DatedEntry {
  day: string | null;
  raw: unknown;
}

/**
 * Papers from JSON files, for offline runs, demos and tests. An entry belongs to
 * the day its file is named after (2026-11-27.json), or else to the UTC date of
 * its `paper.submittedOnDailyAt`, as on the Hugging Face list.
 */
export function createFileSource(opts: FileSourceOptions): PaperSource {
  const name = `file:${opts.path}`;
  const root = path.resolve(opts.cwd ?? process.cwd(), opts.path);

  async function files(): Promise<string[]> {
    let info;
    try {
      info = await stat(root);
    } catch {
      throw new SourceError(name, `no such file or folder: ${root}`);
    }
    if (info.isFile()) return [root];
    const names = (await readdir(root)).filter((f) => f.endsWith(".json")).sort();
    if (names.length === 0) throw new SourceError(name, `no .json files in ${root}`);
    return names.map((f) => path.join(root, f));
  }

  async function load(): Promise<DatedEntry[]> {
    const entries: DatedEntry[] = [];
    for (const file of await files()) {
      let body: unknown;
      try {
        body = JSON.parse(await readFile(file, "utf8"));
      } catch (err) {
        throw new SourceError(name, `${path.basename(file)} is not valid JSON (${(err as Error).message})`, { cause: err });
      }
      if (!Array.isArray(body)) throw new SourceError(name, `${path.basename(file)} must hold a JSON array of daily papers`);
      const fileDay = path.basename(file, ".json");
      for (const raw of body) {
        const submitted = (raw as { paper?: { submittedOnDailyAt?: unknown } } | null)?.paper?.submittedOnDailyAt;
        const day = isDay(fileDay)
          ? fileDay
          : typeof submitted === "string" && !Number.isNaN(Date.parse(submitted))
            ? new Date(submitted).toISOString().slice(0, 10)
            : null;
        entries.push({ day, raw });
      }
    }
    return entries;
  }

  return {
    name,
    kind: "file",
    async fetchDay(day): Promise<SourceBatch> {
      const batch: SourceBatch = { fetched: 0, papers: [], invalid: [] };
      for (const entry of await load()) {
        if (entry.day === null) {
          // Belongs to no day: report it on every run rather than lose it silently.
          batch.fetched++;
          batch.invalid.push({ id: looseId(entry.raw), reason: "no listing day (file not named YYYY-MM-DD.json and no paper.submittedOnDailyAt)" });
          continue;
        }
        if (entry.day !== day) continue;
        batch.fetched++;
        const mapped = mapHfEntry(entry.raw, day, "file");
        if ("paper" in mapped) batch.papers.push(mapped.paper);
        else batch.invalid.push(mapped.invalid);
      }
      return batch;
    },
    async days() {
      const days = new Set<string>();
      for (const e of await load()) if (e.day) days.add(e.day);
      return [...days].sort();
    },
  };
}
