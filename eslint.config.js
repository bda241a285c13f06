// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import paperboy from "./eslint/no-cycle-with-types.js";
import { jobsThroughProducer } from "./eslint/jobs-through-producer.js";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".data/**", "migrations/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js", "eslint/*.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX, paperboy },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
      // import-x/no-cycle skips `import type` with no option to count it; this one counts it.
      "paperboy/no-cycle-with-types": "error",
      // Fastify plugins are async functions by contract, with or without an await inside.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Domain modules know nothing of HTTP or queues (DESIGN.md layers).
    files: ["src/ops/**", "src/local/**", "src/papers/**", "src/subscribers/**", "src/digests/**", "src/mail/**", "src/db/**", "src/config.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [
        { group: ["fastify", "@fastify/*", "bullmq", "**/http/**", "**/jobs/**", "**/main/**"], message: "domain code must not depend on HTTP, queues or entry points" },
      ] }],
    },
  },
  {
    // http receives a jobs port (http/deps.ts) that src/main fills with the producer.
    files: ["src/http/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [
        { group: ["**/jobs/**", "**/main/**"], message: "http receives the jobs port from AppDeps (src/http/deps.ts); src/main wires jobs/producer.ts into it" },
      ] }],
    },
  },
  {
    // One seam for jobs: only the producer adds them (and so makes their ids).
    files: ["src/**/*.ts"],
    ignores: ["src/jobs/producer.ts"],
    rules: { "no-restricted-syntax": ["error", ...jobsThroughProducer] },
  },
  { files: ["eslint.config.js", "eslint/*.js"], ...tseslint.configs.disableTypeChecked },
  // Browser scripts served as-is from /assets/: plain JS, not part of the TypeScript project.
  {
    files: ["src/http/assets/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: "script",
      globals: { window: "readonly", document: "readonly", fetch: "readonly", FormData: "readonly", Intl: "readonly", URLSearchParams: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly" },
    },
  },
);
