import { defineConfig } from "drizzle-kit";

// The package index files' schema (server/packages/index-schema.ts), apart from the app's.
export default defineConfig({
  dialect: "sqlite",
  schema: "./server/packages/index-schema.ts",
  out: "./drizzle/package-index",
});
