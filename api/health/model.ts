import { t } from "elysia";

export const HealthModel = {
  liveness: t.Object({ status: t.Literal("ok") }),
  readiness: t.Object(
    {
      status: t.Union([t.Literal("ready"), t.Literal("unavailable")]),
      checks: t.Record(t.String(), t.String()),
    },
    { examples: [{ status: "ready", checks: { database: "ok", redis: "ok" } }] },
  ),
} as const;
