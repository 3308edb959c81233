// The api under benchmark: the same runtime main.ts starts, on a fresh test database, its own Redis,
// a temporary media root and (when asked) the SMTP capture server. Every bench starts it here.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type Config, loadConfig } from "../../api/config/load.ts";
import { type ApiRuntime, startApiRuntime } from "../../api/runtime.ts";
import { createTestDatabase, stopTestServices, testRedisUrl } from "../../tests/support/services.ts";
import { type SmtpCapture, startSmtpCapture } from "../../tests/support/smtp-capture.ts";

export const BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789";

export interface BenchApi {
  runtime: ApiRuntime;
  config: Config;
  smtp: SmtpCapture | null;
  /** Stops the api and removes everything it made (database, media, throwaway servers). */
  stop(): Promise<void>;
}

export async function startBenchApi(
  env: Record<string, string> = {},
  options: { smtp?: boolean } = {},
): Promise<BenchApi> {
  const [testDb, redisUrl, smtp] = await Promise.all([
    createTestDatabase(),
    testRedisUrl(),
    options.smtp ? startSmtpCapture() : null,
  ]);
  const scratch = mkdtempSync(join(tmpdir(), "vf-bench-"));
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: testDb.url,
    REDIS_URL: redisUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    MEDIA_ROOT: join(scratch, "media"),
    MAIL_DIR: join(scratch, "mail"),
    LOG_LEVEL: "silent",
    ...(smtp ? { SMTP_URL: smtp.url } : {}),
    ...env,
  });
  const runtime = await startApiRuntime({ config, log: pino({ level: "silent" }), consumeEvents: false });
  return {
    runtime,
    config,
    smtp,
    async stop() {
      await runtime.stop();
      await smtp?.close();
      rmSync(scratch, { recursive: true, force: true });
      await testDb.drop();
      await stopTestServices();
    },
  };
}
