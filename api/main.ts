// The api's boot file: config → runtime (migrations, admin, Redis, queues) → listen; SIGTERM stops it.
import { loadOrExit } from "../config/env.ts";
import { loadConfig } from "./config/load.ts";
import { createLogger } from "./logger.ts";
import { startApiRuntime } from "./runtime.ts";

const config = loadOrExit(() => loadConfig(process.env));
const log = createLogger(config.logLevel, "api");
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
