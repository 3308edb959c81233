// GET /metrics: the replica's Prometheus metrics. Not for the internet: the edge blocks the path, and
// METRICS_TOKEN, when set, makes the api itself ask for `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia, t } from "elysia";
import { ApiError, ErrorBody } from "../http/errors.ts";
import { type ApiMetrics, METRICS_PATH } from "./service.ts";

export interface MetricsRouteDeps {
  services: { metrics: ApiMetrics };
  config: {
    /** The bearer token a scrape must present; null: open (keep the path off public networks). */
    metricsToken: string | null;
  };
}

// Hashing first gives both sides the same length, so the comparison leaks nothing, not even that.
const digest = (value: string) => createHash("sha256").update(value).digest();

export function metricsRoutes(deps: MetricsRouteDeps) {
  const { metricsToken } = deps.config;
  const expected = metricsToken === null ? null : digest(metricsToken);
  const { registry } = deps.services.metrics;
  return new Elysia({ name: "metrics", detail: { tags: ["Health"] } }).get(
    METRICS_PATH,
    async ({ request, set }) => {
      if (expected && !presents(request.headers.get("authorization"), expected)) {
        throw new ApiError(
          401,
          { detail: "A valid metrics bearer token is required." },
          {
            "www-authenticate": 'Bearer realm="metrics"',
          },
        );
      }
      set.headers["content-type"] = registry.contentType;
      return registry.metrics();
    },
    {
      response: { 200: t.String(), 401: ErrorBody },
      detail: {
        summary: "Prometheus metrics (text format)",
        description:
          "When METRICS_TOKEN is set, only for `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).",
      },
    },
  );
}

function presents(header: string | null, expected: Buffer): boolean {
  const match = header?.match(/^Bearer +(\S+)$/i);
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}
