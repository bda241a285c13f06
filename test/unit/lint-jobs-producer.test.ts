import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- plain-JS ESLint options of this project, without type declarations
import { jobsThroughProducer } from "../../eslint/jobs-through-producer.js";

/** Lints `code` with the rule eslint.config.js applies to src/ outside the producer. */
function errors(code: string): string[] {
  const linter = new Linter({ configType: "flat" });
  const messages = linter.verify(code, [
    { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser }, rules: { "no-restricted-syntax": ["error", ...(jobsThroughProducer as object[])] } },
  ], "src/jobs/handlers.ts");
  return messages.map((m) => m.message);
}

describe("lint: jobs enter through the producer", () => {
  it("refuses adding a job on a queue outside src/jobs/producer.ts", () => {
    expect(errors('await queues.send.add("send", { digestIds: [1] }, { jobId: "x" });')).toEqual([expect.stringMatching(/producer\.ts/)]);
    expect(errors("await deps.queues.mail.addBulk([]);")).toEqual([expect.stringMatching(/producer\.ts/)]);
  });

  it("leaves other add calls alone", () => {
    expect(errors("seen.add(key); deps.seen.add(key); await deps.jobs.sendBatches([1]); await deps.queues.send.rateLimit(10);")).toEqual([]);
  });
});
