import { defineConfig } from "drizzle-kit";

// Migrations are generated from the schema and committed; the api applies them at start-up.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  casing: "snake_case",
});
