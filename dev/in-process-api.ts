// The real api (the runtime main.ts starts) inside this process, on a fresh database of the throwaway
// (or TEST_DATABASE_URL) PostgreSQL, a Redis of its own, a temporary media root and, when asked, the
// SMTP capture server. The tests and the benchmarks both start their api here.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type Config, loadConfig } from "../api/config/load.ts";
import { type ApiRuntime, startApiRuntime } from "../api/runtime.ts";
import { createTestDatabase, testRedisUrl } from "./services.ts";
import { type SmtpCapture, startSmtpCapture } from "./smtp-capture.ts";

export interface InProcessApiOptions {
  /** Settings on top of NODE_ENV=test and the addresses made here; they win over those. */
  env?: Record<string, string>;
  /** Start an SMTP capture server and send every mail there. */
  smtp?: boolean;
  /** Consume transcoder state events (default true). */
  consumeEvents?: boolean;
  clock?: { now(): Date };
  /** How often cached token verdicts and open sockets are checked for a revocation again (ms). */
  revocationRecheckMs?: number;
  /** pino level of the api's logs (default silent; info when `logLines` is given). */
  logLevel?: string;
  /** Collects the api's JSON log lines here instead of stdout (tests that read the audit lines). */
  logLines?: string[];
  /** Reuse another in-process api's database, Redis and media root (a second replica). */
  shareWith?: InProcessApi;
}

export interface InProcessApi {
  config: Config;
  runtime: ApiRuntime;
  smtp: SmtpCapture | null;
  /** Stops the api and removes what it made (its database, media root and SMTP server). */
  stop(): Promise<void>;
}

export async function startInProcessApi(options: InProcessApiOptions = {}): Promise<InProcessApi> {
  const shared = options.shareWith;
  const [testDb, redisUrl, smtp] = await Promise.all([
    shared ? null : createTestDatabase(),
    shared ? shared.config.redisUrl : testRedisUrl(),
    options.smtp ? startSmtpCapture() : null,
  ]);
  const scratch = shared ? null : mkdtempSync(join(tmpdir(), "vf-api-"));
  // Searchable (not listable) by other accounts: an nginx edge started as root serves the media under
  // it from workers that run as nobody (infra/nginx/worker-user.ts).
  if (scratch) chmodSync(scratch, 0o711);
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: shared ? (shared.config.databaseUrl as string) : testDb!.url,
    REDIS_URL: redisUrl,
    MEDIA_ROOT: shared ? shared.config.mediaRoot : join(scratch!, "media"),
    MAIL_DIR: shared ? shared.config.mailDir : join(scratch!, "mail"),
    ...(smtp ? { SMTP_URL: smtp.url } : {}),
    ...options.env,
  });
  const lines = options.logLines;
  const log = lines
    ? pino({ level: options.logLevel ?? "info" }, { write: (line: string) => void lines.push(line) })
    : pino({ level: options.logLevel ?? "silent" });
  const runtime = await startApiRuntime({
    config,
    log,
    clock: options.clock,
    consumeEvents: options.consumeEvents,
    revocationRecheckMs: options.revocationRecheckMs,
  });
  return {
    config,
    runtime,
    smtp,
    async stop() {
      await runtime.stop();
      await smtp?.close();
      if (testDb) await testDb.drop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
