// The worker's own small HTTP server, for Prometheus and for the orchestrator's health checks:
// GET /metrics (text format) and GET /health (200 while taking jobs, 503 once shutting down).
import type { Server } from "bun";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface WorkerHealth {
  /** False once the worker stops taking jobs (shutdown), or before it runs. */
  healthy: boolean;
  body: Record<string, unknown>;
}

export interface MetricsServerOptions {
  port: number;
  hostname?: string;
  registry: Registry;
  health: () => WorkerHealth;
  log: Logger;
}

/**
 * Starts the server, or returns null when the port is 0 or taken: a worker without metrics still
 * transcodes (two workers on one host with the default port: the second one runs unobserved).
 */
export function startMetricsServer(options: MetricsServerOptions): Server<undefined> | null {
  if (options.port === 0) return null;
  const { registry } = options;
  try {
    const server = Bun.serve({
      port: options.port,
      hostname: options.hostname ?? "0.0.0.0",
      async fetch(request) {
        const path = new URL(request.url).pathname;
        if (request.method !== "GET" && request.method !== "HEAD")
          return Response.json(
            { detail: "Method not allowed." },
            { status: 405, headers: { allow: "GET, HEAD" } },
          );
        if (path === "/metrics")
          return new Response(await registry.metrics(), {
            headers: { "content-type": registry.contentType },
          });
        if (path === "/health") {
          const { healthy, body } = options.health();
          return Response.json(body, { status: healthy ? 200 : 503 });
        }
        return Response.json({ detail: "Not found." }, { status: 404 });
      },
    });
    options.log.info({ port: server.port }, "metrics and health on /metrics, /health");
    return server;
  } catch (error) {
    options.log.warn(
      { err: error, port: options.port },
      "metrics server not started (port in use?): set TRANSCODER_METRICS_PORT per worker",
    );
    return null;
  }
}
