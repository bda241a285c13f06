import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io, RuntimeCommand } from "../../src/main/cli/command.js";
import { stats as statsCommand } from "../../src/main/cli/stats.js";
import { subscribers as subscribersCommand } from "../../src/main/cli/subscribers.js";
import { setSubscriberTopics } from "../../src/subscribers/topics.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in this process against the runtime, as `npm run cli` would; refusals become code 1. */
async function run(rt: TestRuntime, command: RuntimeCommand, ...args: string[]): Promise<Run> {
  let stdout = "";
  const errLines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      stdout += chunk.toString("utf8");
      cb();
    },
  });
  const io: Io = { out, err: (l) => errLines.push(l), progress: false };
  try {
    await command(rt, args, io);
    return { code: 0, stdout, stderr: errLines.join("\n") };
  } catch (err) {
    if ((err as Error).name !== "UsageError") throw err;
    errLines.push((err as Error).message);
    return { code: 1, stdout, stderr: errLines.join("\n") };
  }
}

/** Runs `npm run cli -- …` as a process, the way an operator does, against the given runtime's services. */
function cli(rt: TestRuntime, dataDir: string, ...args: string[]): Promise<Run> {
  return cliWith(rt, { NODE_ENV: "test", DATA_DIR: dataDir }, ...args);
}

/** The same with other settings (NODE_ENV=development, say, to see its log lines: tests log nothing). */
function cliWith(rt: TestRuntime, settings: Record<string, string>, ...args: string[]): Promise<Run> {
  const env = {
    PATH: process.env.PATH ?? "",
    ...runtimeEnv(rt, settings),
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "src/main/cli.ts", ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const FIELDS = sql`email, status::text, timezone, send_hour, frequency::text, weekday, max_papers, send_when_empty, add_trending, paused_at,
  consent_at, consent_ip, consent_user_agent, confirmed_at, unsubscribed_at, created_at,
  (select array_agg(label order by created_at, topic_id) from subscriber_topics st where st.subscriber_id = s.id) as topics`;

describe("cli: subscribers export/import and stats", () => {
  let a: TestRuntime;
  let b: TestRuntime;
  let dir: string;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestRuntime(), createTestRuntime()]);
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-cli-"));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("round-trips every field through export and import into a fresh database", async () => {
    const { rows } = await a.db.execute<{ id: number }>(sql`
      insert into subscribers (email, status, timezone, send_hour, frequency, weekday, max_papers, send_when_empty, paused_at,
                               consent_at, consent_ip, consent_user_agent, consent_note, confirmed_at, unsubscribed_at, created_at)
      values ('Ada@Example.org', 'active', 'Europe/Berlin', 7, 'weekly', 5, 25, true, '2026-11-01T10:00:00.123Z',
              '2026-10-01T09:00:00Z', '203.0.113.9', 'Mozilla/5.0 "quoted", comma', null, '2026-10-01T09:05:00Z', null, '2026-10-01T09:00:00Z'),
             ('bob@example.org', 'pending', 'America/New_York', 18, 'daily', 1, 10, false, null,
              '2026-11-20T12:00:00Z', '2001:db8::1', null, null, null, null, '2026-11-20T12:00:00Z'),
             ('carol@example.org', 'unsubscribed', 'UTC', 8, 'daily', 1, 10, false, null,
              null, null, null, 'paper sign-up sheet', '2026-09-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-09-01T00:00:00Z')
      returning id`);
    const [ada, bob, carol] = rows.map((r) => Number(r.id));
    await setSubscriberTopics(a.db, ada!, ["Diffusion models", '"test-time compute"', "mamba or ssm", "reasoning -survey"]);
    await setSubscriberTopics(a.db, bob!, ["agents | tools"]);
    // Ada also wants the top trending papers.
    await a.db.execute(sql`update subscribers set add_trending = true where id = ${ada!}`);
    await setSubscriberTopics(a.db, carol!, ["graph neural networks"]);
    await a.db.execute(sql`insert into subscribers (email, status, erased_at) values (null, 'unsubscribed', now())`);

    const file = path.join(dir, "subscribers.csv");
    // An older file anyone could read: the export of personal data replaces it readable by its owner only.
    await writeFile(file, "old\n", { mode: 0o644 });
    const exported = await run(a, subscribersCommand, "export", "--out", file);
    expect(exported.stderr).toContain("exported 3 subscribers");
    expect(exported.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const csv = await readFile(file, "utf8");
    expect(csv.split("\n")[0]).toBe(
      "email,status,timezone,send_hour,frequency,weekday,max_papers,send_when_empty,paused_at,topics,consent_at,consent_ip,consent_user_agent,consent_note,confirmed_at,unsubscribed_at,created_at,add_trending",
    );

    const imported = await run(b, subscribersCommand, "import", file, "--confirmed", "--consent-note", "restored from backup 2026-11-28");
    expect(imported.stderr).toContain("imported 3 subscribers (confirmed), 0 already here");
    expect(imported.code).toBe(0);

    const before = await a.db.execute(sql`select ${FIELDS} from subscribers s where email is not null order by lower(email)`);
    const after = await b.db.execute(sql`select ${FIELDS} from subscribers s order by lower(email)`);
    expect(after.rows).toEqual(before.rows);
    // A note already on record stays; those --confirmed made active get the one given to --consent-note.
    const notes = await b.db.execute<{ email: string; consent_note: string }>(sql`select email, consent_note from subscribers order by lower(email)`);
    expect(notes.rows.map((r) => r.consent_note)).toEqual(["restored from backup 2026-11-28", null, "paper sign-up sheet"]);
    // Nobody was written to: --confirmed sends nothing.
    expect(b.sink.messages).toHaveLength(0);

    const again = await run(b, subscribersCommand, "export");
    expect(again.stdout.replace(/,restored from backup 2026-11-28,/g, ",,")).toBe(csv);
  });

  it("reports each malformed row by line and imports nothing", async () => {
    const { rows: countBefore } = await b.db.execute<{ n: number }>(sql`select count(*)::int as n from subscribers`);
    const file = path.join(dir, "bad.csv");
    await writeFile(
      file,
      ["email,timezone,send_hour,topics", "dave@example.org,UTC,8,reasoning", "erin@example,UTC,8,reasoning", "frank@example.org,Nowhere/City,8,reasoning", "gina@example.org,UTC,8,the", "hank@example.org,US/Pacific-New,8,reasoning", ""].join("\n"),
    );
    const res = await run(b, subscribersCommand, "import", file, "--confirmed", "--consent-note", "x");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file}:3: email: must be an email address`);
    expect(res.stderr).toContain(`${file}:4: timezone: must be an IANA time zone`);
    expect(res.stderr).toContain(`${file}:5: topics.0: topic "the" has no searchable words`);
    // JavaScript still accepts this retired alias; the database (and so the planner) does not.
    expect(res.stderr).toContain(`${file}:6: timezone: time zone "US/Pacific-New" is not known to the database`);
    expect(res.stderr).toContain("4 bad rows; nothing was imported");
    const { rows: countAfter } = await b.db.execute<{ n: number }>(sql`select count(*)::int as n from subscribers`);
    expect(countAfter[0]?.n).toBe(countBefore[0]?.n);
  });

  it("without --confirmed creates pending subscribers and sends each a confirmation email", async () => {
    const file = path.join(dir, "new.csv");
    await writeFile(file, 'email,topics\nhelen@example.org,"diffusion models | agents"\nivan@example.org,reasoning\nbob@example.org,agents\n');
    const res = await run(b, subscribersCommand, "import", file);
    expect(res.stderr).toContain("imported 2 subscribers (pending confirmation), 1 already here and left as they were, 2 confirmation emails queued");
    expect(res.code).toBe(0);
    // The import only queues them; a worker sends them.
    expect(b.sink.messages).toHaveLength(0);
    const worker = await startMailWorker(b);
    const msgs = await b.sink.waitFor(2).finally(() => worker.close());
    expect(msgs.map((m) => m.envelope.to[0]).sort()).toEqual(["helen@example.org", "ivan@example.org"]);
    const helen = msgs.find((m) => m.envelope.to[0] === "helen@example.org");
    expect(helen?.parsed.subject).toBe("Confirm your paperboy subscription");
    expect(helen?.parsed.text).toContain("diffusion models, agents");
    expect(helen?.parsed.text).toMatch(/http:\/\/paperboy\.test\/confirm\?token=\S+/);
    const { rows } = await b.db.execute<{ email: string; status: string; confirmed_at: Date | null }>(
      sql`select email, status::text, confirmed_at from subscribers where email in ('helen@example.org', 'ivan@example.org', 'bob@example.org') order by email`,
    );
    expect(rows.map((r) => [r.email, r.status, r.confirmed_at])).toEqual([
      ["bob@example.org", "pending", null],
      ["helen@example.org", "pending", null],
      ["ivan@example.org", "pending", null],
    ]);
  });

  it("refuses --confirmed without a consent note", async () => {
    const res = await run(b, subscribersCommand, "import", path.join(dir, "new.csv"), "--confirmed");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("--confirmed needs --consent-note");
  });

  it("prints stats", async () => {
    await b.db.execute(sql`insert into ingest_runs (source, day, status, fetched, inserted) values ('huggingface', '2026-11-27', 'succeeded', 40, 38)`);
    const stats = await run(b, statsCommand);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^subscribers {2}pending 3 · active 1 · unsubscribed 1 · bounced 0 · complained 0 · total 5$/m);
    expect(stats.stdout).toMatch(/^last ingest {2}huggingface for 2026-11-27: succeeded, .* 40 fetched, 38 new/m);
  });

  it("runs as `npm run cli` does: --help, and exit code 1 when an import is refused", async () => {
    const bad = path.join(dir, "bad-email.csv");
    await writeFile(bad, "email,topics\nnobody@,reasoning\n");
    const [refused, help] = await Promise.all([
      cli(b, dir, "subscribers", "import", bad, "--confirmed", "--consent-note", "x"),
      cli(b, dir, "subscribers", "--help"),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bad}:2: email: must be an email address`);
    expect(refused.stderr).toContain("1 bad row; nothing was imported");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("subscribers export [--out file.csv]");
    expect(help.stdout).toContain("--consent-note");
  }, 90_000);

  // A command that opens and closes at once quit the queues' Redis connection while BullMQ's
  // version check (INFO) was still to be written: EPIPE, logged as an outage of a healthy Redis.
  it("a quick command (migrate) on a healthy Redis says only that it is done", async () => {
    const runs = await Promise.all(Array.from({ length: 4 }, () => cliWith(b, { NODE_ENV: "development", DATA_DIR: dir }, "migrate")));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("migrations applied\n");
      expect(r.stderr).not.toMatch(/unavailable|EPIPE/);
    }
  }, 90_000);

  // Without SMTP_URL the runtime logs (info) that mail goes to the local outbox: on stdout,
  // that line was the first of `subscribers export > backup.csv` and broke `stats --json | jq`.
  it("what a command prints for a pipe (stats --json, export) is only that: log lines go to stderr", async () => {
    const settings = { NODE_ENV: "development", LOG_LEVEL: "info", DATA_DIR: dir, SMTP_URL: "", OUTBOX_SMTP_PORT: "0" };
    const [stats, exported] = await Promise.all([cliWith(b, settings, "stats", "--json"), cliWith(b, settings, "subscribers", "export")]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ papers: expect.any(Number) as number });
    expect(exported.code).toBe(0);
    expect(exported.stdout.split("\n")[0]).toMatch(/^email,status,/);
    expect(stats.stderr + exported.stderr).toContain("local outbox");
  }, 90_000);

  // `send` ignored what followed it: an operator's `send --dry-run` sent every queued digest.
  it("commands without options refuse any (send --dry-run sends nothing)", async () => {
    const runs = await Promise.all([cli(b, dir, "send", "--dry-run"), cli(b, dir, "migrate", "now"), cli(b, dir, "demo", "--to", "me@example.org")]);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1]);
    expect(runs.map((r) => r.stdout)).toEqual(["", "", ""]);
    expect(runs[0]?.stderr).toContain("Unknown option '--dry-run'");
    expect(runs[1]?.stderr).toContain("Unexpected argument 'now'");
  }, 90_000);

  it("export to a file it cannot write says so plainly (no stack trace)", async () => {
    const target = path.join(dir, "no-such-folder", "backup.csv");
    const r = await cli(b, dir, "subscribers", "export", "--out", target);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`--out: cannot write ${target}: ENOENT: no such file or directory, open '${target}'`);
  }, 90_000);

  // new Date() read 2026-02-30 as March 2 and "1" as 2001-01-01, and the plan ran for that time.
  it("plan --at takes an ISO time of a real day only", async () => {
    const runs = await Promise.all(["2026-02-30T08:00:00Z", "1", "Nov 27 2026"].map((at) => cli(b, dir, "plan", "--at", at)));
    for (const [i, at] of ["2026-02-30T08:00:00Z", "1", "Nov 27 2026"].entries()) {
      expect(runs[i]?.code).toBe(2);
      expect(runs[i]?.stdout).toBe("");
      expect(runs[i]?.stderr.trim()).toBe(`--at: "${at}" is not an ISO time such as 2026-11-27T08:00:00Z`);
    }
  }, 90_000);
});
