import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { asc, sql } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { papers } from "../../src/db/schema.js";
import { createTestDatabase, type TestDatabase } from "./db.js";
import { startRecordedServer, type RecordedServer } from "./recorded-http.js";
import type { Clock } from "../../src/papers/http.js";
import type { Logger } from "../../src/logger.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

/** The recorded Hugging Face daily_papers response (three entries, values invented). */
export const hfSample = (): Record<string, unknown>[] => JSON.parse(fixture("hf-daily-papers-sample.json")) as Record<string, unknown>[];
/** The recorded arXiv export API response (Atom, two entries). */
export const arxivSample = (): string => fixture("arxiv-atom-sample.xml");

/** A daily_papers entry in the recorded shape, with the fields paperboy reads. */
export function hfEntry(id: string, paper: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    paper: {
      id,
      authors: [{ _id: `a-${id}`, name: `Author of ${id}`, hidden: false }],
      publishedAt: "2026-11-26T17:00:00.000Z",
      submittedOnDailyAt: "2026-11-27T01:00:00.000Z",
      title: `Paper ${id}`,
      summary: `Abstract of paper ${id}.`,
      upvotes: 1,
      discussionId: `d-${id}`,
      ...paper,
    },
    title: `Paper ${id}`,
    numComments: 0,
  };
}

export interface FakeClock extends Clock {
  sleeps: number[];
  /** clock.now() at every limiter release, i.e. when each request was allowed out. */
  t: number;
}

/** Time that only moves when someone sleeps: retries and rate limits finish instantly. */
export function fakeClock(start = 1_000_000): FakeClock {
  const clock: FakeClock = {
    t: start,
    sleeps: [],
    now: () => clock.t,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

/** A logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export const sourcesConfig = (hf: string, arxiv: string, categories = ["cs.CL", "cs.LG"]) => ({
  HF_API_URL: hf,
  ARXIV_API_URL: arxiv,
  ARXIV_CATEGORIES: categories,
  HTTP_TIMEOUT_MS: 2000,
});

export interface IngestHarness {
  readonly database: TestDatabase;
  readonly server: RecordedServer;
  /** A fresh fake clock for each test. */
  readonly clock: FakeClock;
  readonly log: ReturnType<typeof capturingLogger>;
  /** What ingestDay needs. */
  readonly deps: () => { db: TestDatabase["db"]; logger: Logger };
  /** The stored papers, by arXiv id. */
  readonly rows: () => Promise<(typeof papers.$inferSelect)[]>;
}

/**
 * For an ingest test file: its own database and recorded-response server, emptied of
 * papers and ingest runs before each test, with a fresh fake clock and no requests seen.
 */
export function ingestHarness(): IngestHarness {
  let database: TestDatabase | undefined;
  let server: RecordedServer | undefined;
  let clock: FakeClock | undefined;
  const log = capturingLogger();
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startRecordedServer();
  });
  afterAll(async () => {
    await server?.close();
    await database?.close();
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("ingestHarness(): used before beforeAll/beforeEach ran");
    return v;
  };
  const h: IngestHarness = {
    get database() {
      return ready(database);
    },
    get server() {
      return ready(server);
    },
    get clock() {
      return ready(clock);
    },
    log,
    deps: () => ({ db: h.database.db, logger: log.logger }),
    rows: () => h.database.db.select().from(papers).orderBy(asc(papers.arxivId)),
  };
  beforeEach(async () => {
    clock = fakeClock();
    h.server.requests.length = 0;
    await h.database.db.execute(sql`truncate papers, ingest_runs restart identity cascade`);
  });
  return h;
}
