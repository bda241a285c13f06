import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestRow, seedOne } from "../helpers/digest-fixtures.js";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";

const run = promisify(execFile);

describe("npm run cli -- send", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("sends every queued digest, skips the unsubscribed, and prints a summary", async () => {
    const seeded = await Promise.all([seedOne(rt.pool), seedOne(rt.pool), seedOne(rt.pool, { status: "unsubscribed" })]);
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", "send"], {
      env: {
        ...process.env,
        NODE_ENV: "test",
        ...runtimeEnv(rt, { MAIL_DOMAIN: "paperboy.test" }),
      },
    });
    expect(stdout).toContain("send: 2 sent, 1 skipped");
    expect(rt.sink.messages.map((m) => m.parsed.messageId).sort()).toEqual(
      seeded.slice(0, 2).map((s) => `<digest-${s.digestId}@paperboy.test>`).sort(),
    );
    expect((await digestRow(rt.pool, seeded[2].digestId)).status).toBe("skipped");
  });
});
