// `bun dev/test-postgres.ts`: one throwaway PostgreSQL (dev/services.ts) shared by several bun test processes
// through TEST_DATABASE_URL: npm test runs two, and each would otherwise initdb and start a server of its own
// (about 2 CPU-seconds, several seconds of wall on a loaded machine). Prints the server's URL, keeps it
// until SIGTERM or SIGINT, then stops it and removes its data.
import { startThrowawayPostgres, stopTestServices } from "./services.ts";

const url = await startThrowawayPostgres();
const stop = async () => {
  await stopTestServices();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(url);
// Held until a signal: nothing else keeps the event loop alive.
setInterval(() => {}, 2 ** 30);
