// The api under benchmark: the in-process api the tests also start (dev/in-process-api.ts), silent,
// and stopping the throwaway PostgreSQL/Redis with it, since a benchmark is its only user.
import { type InProcessApi, startInProcessApi } from "../../dev/in-process-api.ts";
import { stopTestServices } from "../../dev/services.ts";

export const BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789";

export async function startBenchApi(
  env: Record<string, string> = {},
  options: { smtp?: boolean } = {},
): Promise<InProcessApi> {
  const api = await startInProcessApi({
    env: { JWT_SECRET: BENCH_JWT_SECRET, LOG_LEVEL: "silent", ...env },
    smtp: options.smtp,
    consumeEvents: false,
  });
  return {
    ...api,
    async stop() {
      await api.stop();
      await stopTestServices();
    },
  };
}
