// `bun run transcoder`: one worker of the farm. Start as many replicas as the hosts allow.
// What the worker is lives in service.ts; this file reads the config and owns the process's signals.
import pino from "pino";
import { loadOrExit } from "../config/env.ts";
import { loadTranscoderConfig } from "./config.ts";
import { startTranscoderService } from "./service.ts";

const config = loadOrExit(() => loadTranscoderConfig(process.env));
// The same line format as the api's logs (ISO time), so one log pipeline reads both.
const log = pino({
  level: config.logLevel,
  base: { service: "transcoder", worker: config.workerName },
  timestamp: pino.stdTimeFunctions.isoTime,
});

// A promise nobody awaited failed: log it loudly and keep working, since such a failure belongs to one
// job or task and leaves the process usable. A synchronous throw that reached the top may have
// left state half-updated (a lock held, a pool mid-checkout): log it and exit non-zero so the
// supervisor restarts a clean process.
process.on("unhandledRejection", (reason) => {
  log.error({ err: reason, event: "unhandledRejection" }, "unhandled promise rejection (kept running)");
});
process.on("uncaughtException", (error, origin) => {
  log.fatal({ err: error, event: "uncaughtException", origin }, "uncaught exception: exiting");
  process.exit(1);
});

const service = await startTranscoderService(config, log);
const shutdown = (signal: string) => void service.stop(signal).then(() => process.exit(0));
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
