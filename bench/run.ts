import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * `npm run bench`: runs every benchmark in this folder (or those named on the
 * command line), each in its own process so one's memory does not skew another's.
 */
const dir = fileURLToPath(new URL(".", import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
/** Node flags a benchmark runs with to match the process it stands for: the send bench runs as the worker does (package.json start:worker). */
const flags = (file: string) => (/^send\.ts$/.test(file) ? ["--max-old-space-size=128"] : []);
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== bench/${file} ===\n`);
  const r = spawnSync(process.execPath, ["--expose-gc", ...flags(file), "--import", "tsx", `${dir}${file}`], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
if (files.length === 0) process.stdout.write("no benchmarks found\n");
process.exit(failed > 0 ? 1 : 0);
