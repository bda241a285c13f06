import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRuntime, runtimeEnv, type TestRuntime } from "../helpers/runtime.js";
import { spawnEntry } from "../helpers/spawn.js";

describe("npm run demo", () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("loads the sample papers and sends one digest to a demo subscriber, saying where to read it", { timeout: 90_000 }, async () => {
    const demo = spawnEntry("src/main/cli.ts", ["demo"], runtimeEnv(rt));
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain("ingested 30 sample papers");
    const [message] = await rt.sink.waitFor(1);
    const to = message?.envelope.to[0] ?? "";
    expect(to).toMatch(/^demo\+[0-9a-f]+@paperboy\.localhost$/);
    expect(message?.parsed.subject).toMatch(/new papers/i);
    expect(message?.parsed.html).toContain("because you follow");
    expect(demo.output()).toMatch(/http:\/\/paperboy\.test\/digests\/\d+\?token=/);
  });
});
