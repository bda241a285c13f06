import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- a plain-JS ESLint plugin of this project, without type declarations
import plugin from "../../eslint/no-cycle-with-types.js";

/** Lints `file` in `dir` with only the project's cycle rule, reading its imports from disk as eslint does. */
function cycleErrors(dir: string, file: string, code: string): string[] {
  const linter = new Linter({ configType: "flat", cwd: dir });
  const messages = linter.verify(
    code,
    [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser }, plugins: { paperboy: plugin as never }, rules: { "paperboy/no-cycle-with-types": "error" } }],
    path.join(dir, file),
  );
  return messages.map((m) => m.message);
}

describe("lint: import cycles, type-only imports included", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pb-cycles-"));
    // The circle app.ts had with its route files: type-only both ways, invisible to import-x/no-cycle.
    await writeFile(path.join(dir, "app.ts"), 'import type { Route } from "./route.js";\nexport interface Deps { route: Route }\n');
    await writeFile(path.join(dir, "route.ts"), 'import type { Deps } from "./app.js";\nexport type Route = (deps: Deps) => void;\n');
    // The way out: the shared type in its own module.
    await writeFile(path.join(dir, "deps.ts"), "export interface Deps { name: string }\n");
    await writeFile(path.join(dir, "ok-route.ts"), 'import type { Deps } from "./deps.js";\nexport type Route = (deps: Deps) => void;\n');
    await writeFile(path.join(dir, "a.ts"), 'import { b } from "./b.js";\nexport const a = () => b;\n');
    await writeFile(path.join(dir, "b.ts"), 'import { c } from "./c.js";\nexport const b = 1;\nexport { c };\n');
    await writeFile(path.join(dir, "c.ts"), 'import type { a } from "./a.js";\nexport const c = 2;\nexport type A = typeof a;\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports a circle made only of `import type`", () => {
    const errors = cycleErrors(dir, "route.ts", 'import type { Deps } from "./app.js";\nexport type Route = (deps: Deps) => void;\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("route.ts → app.ts → route.ts");
  });

  it("reports a longer circle that closes with a type import, naming every step", () => {
    const errors = cycleErrors(dir, "a.ts", 'import { b } from "./b.js";\nexport const a = () => b;\n');
    expect(errors).toEqual([expect.stringContaining("a.ts → b.ts → c.ts → a.ts")]);
  });

  it("passes imports that point one way", () => {
    expect(cycleErrors(dir, "ok-route.ts", 'import type { Deps } from "./deps.js";\nexport type Route = (deps: Deps) => void;\n')).toEqual([]);
  });
});
