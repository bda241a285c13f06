// @ts-check
/**
 * Import cycles, type-only imports included. eslint-plugin-import-x's no-cycle skips
 * `import type` unconditionally (no option turns that off) and this project writes
 * every type import that way (verbatimModuleSyntax), so a circle made of type imports
 * — app.ts and its route files, once — passes unseen. This rule follows every relative
 * import TypeScript's own pre-processor finds (values, types, re-exports, import()).
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

/** @type {Map<string, { mtimeMs: number; deps: string[] }>} */
const cache = new Map();

/** @param {string} from @param {string} spec @returns {string | undefined} */
function resolve(from, spec) {
  if (!spec.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(c|m)?js$/, "");
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, base, path.join(base, "index.ts")]) {
    if (fs.statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  return undefined;
}

/** @param {string} file @returns {string[]} */
function importsOf(file) {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return [];
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.deps;
  const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
  const deps = [...new Set(info.importedFiles.map((f) => resolve(file, f.fileName)).filter((d) => d !== undefined))];
  cache.set(file, { mtimeMs: stat.mtimeMs, deps });
  return deps;
}

/** The shortest import path from `start` back to `target`, or undefined. @param {string} start @param {string} target */
function pathBack(start, target) {
  /** @type {Map<string, string | null>} */
  const parent = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = /** @type {string} */ (queue.shift());
    for (const dep of importsOf(file)) {
      if (dep === target) {
        const route = [file];
        for (let p = parent.get(file); p; p = parent.get(p)) route.unshift(p);
        return route;
      }
      if (!parent.has(dep)) {
        parent.set(dep, file);
        queue.push(dep);
      }
    }
  }
  return undefined;
}

/** @type {import("eslint").Rule.RuleModule} */
export const noCycleWithTypes = {
  meta: {
    type: "problem",
    docs: { description: "forbid import cycles, counting type-only imports" },
    schema: [],
    messages: { cycle: "Import cycle (type-only imports included): {{route}}" },
  },
  create(context) {
    const file = context.physicalFilename;
    const cwd = context.cwd;
    /** @param {import("estree").Node & { source?: import("estree").Node | null }} node */
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== "Literal" || typeof source.value !== "string") return;
      const target = resolve(file, source.value);
      if (!target || target === file) return;
      const route = pathBack(target, file);
      if (route) context.report({ node: source, messageId: "cycle", data: { route: [file, ...route, file].map((f) => path.relative(cwd, f)).join(" → ") } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default { rules: { "no-cycle-with-types": noCycleWithTypes } };
