// `bun run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded PGlite database).

import { openDatabase } from "../../db/client.ts";
import { loadConfig } from "../config/load.ts";

const config = loadConfig(process.env);
const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir, poolSize: 1 });
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
