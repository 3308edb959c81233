import { Elysia } from "elysia";
import { HealthModel } from "./model.ts";
import type { ReadinessProbe } from "./service.ts";

/** Liveness (the process answers) and readiness (its database and Redis answer too). */
export const healthRoutes = (deps: { services: { readiness: ReadinessProbe } }) =>
  new Elysia({ name: "health", detail: { tags: ["Health"] } })
    .get("/health", () => ({ status: "ok" as const }), {
      response: HealthModel.liveness,
      detail: { summary: "Liveness: the process is up" },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const { ready, checks } = await deps.services.readiness.check();
        if (!ready) set.status = 503;
        return { status: ready ? ("ready" as const) : ("unavailable" as const), checks };
      },
      {
        response: { 200: HealthModel.readiness, 503: HealthModel.readiness },
        detail: { summary: "Readiness: PostgreSQL and Redis reachable (503 otherwise)" },
      },
    );
