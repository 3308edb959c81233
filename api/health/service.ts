import type Redis from "ioredis";
import type { DatabaseHandle } from "../../db/client.ts";

const CHECK_TIMEOUT_MS = 2000;

async function check(probe: () => Promise<unknown>): Promise<"ok" | string> {
  let timer: Timer | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return "ok";
  } catch (error) {
    return error instanceof Error ? error.message : "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

/** Whether this replica can do its work: PostgreSQL and Redis each answer within 2 s. */
export class ReadinessProbe {
  constructor(private readonly deps: { database: DatabaseHandle; redis: Redis }) {}

  async check(): Promise<{ ready: boolean; checks: { database: string; redis: string } }> {
    const [database, redis] = await Promise.all([
      check(() => this.deps.database.ping()),
      check(() => this.deps.redis.ping()),
    ]);
    return { ready: database === "ok" && redis === "ok", checks: { database, redis } };
  }
}
