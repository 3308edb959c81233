// The api's boot file: config → database (+ migrations) → Redis → mailer → listen; SIGTERM closes it all.
import Redis from "ioredis";
import { openDatabase } from "../db/client.ts";
import { createMailer } from "../emails/mailer.ts";
import { createApp } from "./app.ts";
import { ensureAdmin } from "./auth/ensure-admin.ts";
import { ConfigError, loadConfig } from "./config/index.ts";
import { BackgroundTasks } from "./lifecycle/background.ts";
import { createLogger } from "./logger.ts";

function readConfig() {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

const config = readConfig();
const log = createLogger(config.logLevel, "api");
if (config.jwtSecretIsEphemeral)
  log.warn("JWT_SECRET is not set: using a random secret, sessions end on restart");

const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir });
await database.migrate();
log.info({ database: database.kind }, "migrations applied");
if (config.admin) {
  const outcome = await ensureAdmin(database.db, config.admin);
  log.info({ email: config.admin.email, outcome }, "admin account ensured");
}

const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
redis.on("error", (error) => log.error({ err: error.message }, "redis connection error"));
await redis.connect();

const mailer = createMailer({
  smtpUrl: config.smtpUrl ?? undefined,
  from: config.mailFrom,
  mailDir: config.mailDir,
  log,
});
const background = new BackgroundTasks(log);
const app = createApp({ config, database, redis, mailer, log, background, clock: { now: () => new Date() } });
app.listen({ hostname: config.host, port: config.port });
log.info(
  { url: config.publicUrl, docs: `${config.publicUrl}/openapi`, port: app.server?.port },
  `api listening on ${config.host}:${app.server?.port}`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down: no new requests, finishing in-flight work");
  await app.stop();
  await background.drain();
  await mailer.close();
  redis.disconnect();
  await database.close();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
