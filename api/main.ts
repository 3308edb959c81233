// The api's boot file: config → runtime (migrations, admin, Redis, queues) → listen; SIGTERM stops it.
import { loadOrExit } from "../config/env.ts";
import { loadConfig } from "./config/load.ts";
import { createLogger } from "./logger.ts";
import { startApiRuntime } from "./runtime.ts";

const config = loadOrExit(() => loadConfig(process.env));
const log = createLogger(config.logLevel, "api");

// A promise nobody awaited failed: log it loudly and keep serving, since such a failure belongs to one
// request or task and leaves the process usable. A synchronous throw that reached the top may have
// left state half-updated (a lock held, a pool mid-checkout): log it and exit non-zero so the
// supervisor restarts a clean process.
process.on("unhandledRejection", (reason) => {
  log.error({ err: reason, event: "unhandledRejection" }, "unhandled promise rejection (kept running)");
});
process.on("uncaughtException", (error, origin) => {
  log.fatal({ err: error, event: "uncaughtException", origin }, "uncaught exception: exiting");
  process.exit(1);
});
if (config.jwtSecretIsEphemeral)
  log.warn("JWT_SECRET is not set: using a random secret, sessions end on restart");

const runtime = await startApiRuntime({ config, log });
runtime.app.listen({ hostname: config.host, port: config.port });
const port = runtime.app.server?.port;
log.info(
  { url: config.publicUrl, docs: `${config.publicUrl}/openapi`, port },
  `api listening on ${config.host}:${port}`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down: no new requests, finishing in-flight work");
  await runtime.stop();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
