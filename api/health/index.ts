import { Elysia, t } from "elysia";
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

const Readiness = t.Object(
  {
    status: t.Union([t.Literal("ready"), t.Literal("unavailable")]),
    checks: t.Record(t.String(), t.String()),
  },
  { examples: [{ status: "ready", checks: { database: "ok", redis: "ok" } }] },
);

/** Liveness (the process answers) and readiness (its database and Redis answer too). */
export const healthRoutes = (deps: { database: DatabaseHandle; redis: Redis }) =>
  new Elysia({ name: "health", detail: { tags: ["Health"] } })
    .get("/health", () => ({ status: "ok" as const }), {
      response: t.Object({ status: t.Literal("ok") }),
      detail: { summary: "Liveness: the process is up" },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const [database, redis] = await Promise.all([
          check(() => deps.database.ping()),
          check(() => deps.redis.ping()),
        ]);
        const ready = database === "ok" && redis === "ok";
        if (!ready) set.status = 503;
        return { status: ready ? ("ready" as const) : ("unavailable" as const), checks: { database, redis } };
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: { summary: "Readiness: PostgreSQL and Redis reachable (503 otherwise)" },
      },
    );
