// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".data/**", "migrations/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
      // Fastify plugins are async functions by contract, with or without an await inside.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Domain modules know nothing of HTTP or queues (DESIGN.md layers).
    files: ["src/papers/**", "src/subscribers/**", "src/digests/**", "src/ops/**", "src/mail/**", "src/db/**", "src/config.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [
        { group: ["fastify", "@fastify/*", "bullmq", "**/http/**", "**/jobs/**", "**/main/**"], message: "domain code must not depend on HTTP, queues or entry points" },
      ] }],
    },
  },
  { files: ["eslint.config.js"], ...tseslint.configs.disableTypeChecked },
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
