import { afterAll, describe, expect, it } from "vitest";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

let rt: TestRuntime | undefined;
afterAll(async () => {
  await rt?.close();
});

describe("starting the app", () => {
  // `npm start` used to print a FastifyDeprecation warning (FSTDEP023) to every newcomer.
  it("prints no deprecation warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code ?? w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      rt = await createTestRuntime();
      await rt.app();
      // process.emitWarning delivers on the next tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => /deprecat/i.test(w))).toEqual([]);
  });
});
