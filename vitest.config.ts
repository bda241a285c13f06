import { defineConfig } from "vitest/config";

/**
 * The runs that start several real processes (a worker killed mid-batch, two workers
 * sharing 5,000 digests, the entry points booting and stopping) prove the most and cost
 * the most CPU: they are the `slow` project, which `npm run test:slow` and `.ci/run`
 * run after `npm test`. Everything else is the `default` project.
 */
const slow = ["test/integration/crash.test.ts", "test/integration/scale-out.test.ts", "test/integration/processes.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["test/helpers/global-setup.ts"],
    // Each file gets its own database and Redis prefix, so files run in parallel.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      { extends: true, test: { name: "default", include: ["test/**/*.test.ts"], exclude: slow } },
      { extends: true, test: { name: "slow", include: slow } },
    ],
  },
});
