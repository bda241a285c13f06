import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  // Only `drizzle-kit generate` runs from here; migrations are applied by src/db/migrate.ts.
});
