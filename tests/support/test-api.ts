// Starts the real api (the same runtime main.ts starts) on real PostgreSQL, Redis and an SMTP capture
// server, listening on a loopback port. The browser-like Client and the account helpers live in
// dev/browser-client.ts (the benchmarks use them too); they are re-exported here for the tests.
import { sql } from "drizzle-orm";
import type { Config } from "../../api/config/load.ts";
import type { ApiRuntime } from "../../api/runtime.ts";
import { type InProcessApi, startInProcessApi } from "../../dev/in-process-api.ts";
import type { SmtpCapture } from "../../dev/smtp-capture.ts";

export {
  Client,
  createActiveUser,
  loggedInClient,
  parseSetCookie,
  type SetCookie,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../../dev/browser-client.ts";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

export interface TestApi {
  url: string;
  config: Config;
  runtime: ApiRuntime;
  database: ApiRuntime["database"];
  redis: ApiRuntime["redis"];
  smtp: SmtpCapture;
  /** Moves the api's clock (token expiry) forward or back, in seconds. */
  shiftClock(seconds: number): void;
  /**
   * Moves every refresh rotation back by the grace window and a second: the window is measured on the
   * database's clock, which shiftClock does not move.
   */
  endGraceWindows(): Promise<void>;
  /** The api's log lines, parsed (only with `captureLogs`; empty otherwise). */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface TestApiOptions {
  /** Keep the api's info-level log lines for `logs()` (audit lines, for one). */
  captureLogs?: boolean;
  /** Consume transcoder state events (default true). */
  consumeEvents?: boolean;
  /** Reuse another test api's database and media root (a second replica). */
  shareWith?: TestApi;
  /** How often cached token verdicts and open sockets are checked for a revocation again (ms). */
  revocationRecheckMs?: number;
  /** Listen on this port (default: any free one), e.g. one PUBLIC_URL already names. */
  port?: number;
}

// The in-process api behind each TestApi, for starting a second replica on the same stores.
const inProcess = new WeakMap<TestApi, InProcessApi>();

export async function startTestApi(
  env: Record<string, string> = {},
  options: TestApiOptions = {},
): Promise<TestApi> {
  let offsetMs = 0;
  const logLines: string[] = [];
  const api = await startInProcessApi({
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      JWT_SECRET: TEST_JWT_SECRET,
      FRONTEND_URL: "http://frontend.test",
      CORS_ORIGINS: "http://frontend.test",
      TRUST_PROXY: "true",
      ...env,
    },
    smtp: true,
    consumeEvents: options.consumeEvents,
    revocationRecheckMs: options.revocationRecheckMs,
    clock: { now: () => new Date(Date.now() + offsetMs) },
    logLevel: process.env.TEST_LOG_LEVEL ?? (options.captureLogs ? "info" : "silent"),
    logLines: options.captureLogs ? logLines : undefined,
    shareWith: options.shareWith ? inProcess.get(options.shareWith) : undefined,
  });
  const { runtime, config } = api;
  runtime.app.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const testApi: TestApi = {
    url: `http://127.0.0.1:${runtime.app.server!.port}`,
    config,
    runtime,
    database: runtime.database,
    redis: runtime.redis,
    smtp: api.smtp!,
    shiftClock: (seconds) => {
      offsetMs += seconds * 1000;
    },
    endGraceWindows: async () => {
      const seconds = config.refreshGraceSeconds + 1;
      await runtime.database.db.execute(
        sql`UPDATE refresh_tokens SET rotated_at = rotated_at - make_interval(secs => ${seconds}) WHERE rotated_at IS NOT NULL`,
      );
    },
    logs: () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: () => api.stop(),
  };
  inProcess.set(testApi, api);
  return testApi;
}
