import { cors } from "@elysiajs/cors";
import { openapi } from "@elysiajs/openapi";
import type { Queue } from "bullmq";
import { Elysia, t } from "elysia";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { DatabaseHandle } from "../db/client.ts";
import type { Mailer } from "../emails/mailer.ts";
import type { MediaStorage } from "../storage/index.ts";
import { AccessTokens } from "./auth/access-tokens.ts";
import { authRoutes } from "./auth/index.ts";
import { authPlugin } from "./auth/plugin.ts";
import { catalogueRoutes } from "./catalogue/index.ts";
import type { Config } from "./config/index.ts";
import { healthRoutes } from "./health/index.ts";
import { csrfProtection } from "./http/csrf.ts";
import { errorMapper } from "./http/error-mapper.ts";
import { ErrorBody } from "./http/errors.ts";
import { jsonBody } from "./http/json-body.ts";
import { requestLog } from "./http/request-log.ts";
import type { BackgroundTasks } from "./lifecycle/background.ts";
import { ApiMetrics, METRICS_PATH, metricsRoutes } from "./metrics/index.ts";
import { playbackRoutes } from "./playback/index.ts";
import { progressRoutes } from "./progress/index.ts";
import { WatchProgressService } from "./progress/service.ts";
import { RateLimiter } from "./rate-limit/index.ts";
import { announceLogout, type RealtimeHub, realtimeRoutes } from "./realtime/index.ts";
import { realtimeWebSocketOptions } from "./realtime/protocol.ts";
import { queueDashboard } from "./transcoding/dashboard.ts";
import type { TranscodeQueue } from "./transcoding/queue.ts";
import { videoAdminRoutes } from "./videos/index.ts";

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  redis: Redis;
  mailer: Mailer;
  log: Logger;
  background: BackgroundTasks;
  clock: { now(): Date };
  storage: MediaStorage;
  transcodeQueue: TranscodeQueue;
  /** Every BullMQ queue, for the admin dashboard. */
  dashboardQueues: Queue[];
  /** The WebSocket fan-out, listening on its own Redis subscriber (none: /api/ws carries no events). */
  realtime?: RealtimeHub;
  /**
   * The replica's subscriber-mode connection (shared with the realtime hub): the catalogue and playback
   * caches drop entries on `vf:video-state` through it. Without it there is no catalogue cache, and
   * playback trusts its short TTL alone.
   */
  subscriber?: Redis;
  /** The replica's Prometheus metrics (runtime.ts shares them with the flusher); default: a fresh registry. */
  metrics?: ApiMetrics;
}

/** Builds the whole api from its dependencies; main.ts and the tests call this with real services. */
export async function createApp(deps: AppDeps) {
  const { config, log } = deps;
  const allowedOrigins = new Set([config.publicOrigin, ...config.corsOrigins]);
  const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds, () =>
    deps.clock.now().getTime(),
  );
  const rateLimiter = new RateLimiter(deps.redis, config.rateLimits);
  const auth = authPlugin(accessTokens);
  const metrics = deps.metrics ?? new ApiMetrics();
  metrics.watchTranscodeQueue(deps.transcodeQueue.queue);
  // One service for heartbeats over HTTP and over the WebSocket: one video-duration cache per replica.
  const watchProgress = new WatchProgressService({
    db: deps.database.db,
    redis: deps.redis,
    config,
    clock: deps.clock,
    onRecorded: metrics.heartbeatRecorded,
  });

  // Bun's own body cap sits just above the upload limit; routes enforce their tighter limits.
  return new Elysia({
    serve: { maxRequestBodySize: config.maxUploadBytes + 1024 * 1024 },
    websocket: realtimeWebSocketOptions,
  })
    .use(
      cors({
        origin: (request) => allowedOrigins.has(request.headers.get("origin") ?? ""),
        credentials: true,
        allowedHeaders: ["content-type", "x-csrftoken", "range", "x-request-id"],
        exposeHeaders: ["content-length", "content-range", "retry-after", "x-request-id", "etag"],
        methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        maxAge: 600,
      }),
    )
    .use(requestLog(log, { onAnswered: metrics.observeRequest, quietRoutes: new Set([METRICS_PATH]) }))
    .use(errorMapper(log))
    .use(csrfProtection(allowedOrigins))
    .use(jsonBody(config.maxJsonBodyBytes))
    .use(
      openapi({
        path: "/openapi",
        documentation: {
          info: {
            title: "Videoflix streaming API",
            version: "0.1.0",
            description:
              "Accounts, catalogue and HLS playback. Paths under /api/ with a trailing slash keep the Videoflix client contract. Errors are JSON objects of `detail` and/or field → messages.",
          },
          tags: [
            {
              name: "Accounts",
              description: "Registration, activation, login with HttpOnly cookies, refresh, reset",
            },
            { name: "Health", description: "Liveness and readiness probes" },
            {
              name: "Realtime",
              description:
                "GET /api/ws: transcoding progress and catalogue events over a WebSocket (docs/realtime.md)",
            },
            {
              name: "Admin: videos",
              description: "Uploads, edits, re-uploads, retries and deletes (admins only)",
            },
            {
              name: "Catalogue",
              description:
                "Videos ready to watch: the Videoflix list, filters, search, pages, rows per category",
            },
            { name: "Favorites", description: "The signed-in user's own favorite videos" },
            {
              name: "Watch progress",
              description: "Player heartbeats (coalesced in Redis, flushed in batches) and continue watching",
            },
          ],
        },
      }),
    )
    .use(healthRoutes(deps))
    .use(metricsRoutes({ metrics, token: config.metricsToken }))
    .use(auth)
    .use(
      authRoutes({
        config,
        db: deps.database.db,
        mailer: deps.mailer,
        accessTokens,
        rateLimiter,
        background: deps.background,
        clock: deps.clock,
        log,
        onLogout: announceLogout(deps.redis, accessTokens),
      }),
    )
    .use(
      videoAdminRoutes({
        config,
        db: deps.database.db,
        storage: deps.storage,
        queue: deps.transcodeQueue,
        redis: deps.redis,
        log,
        auth,
      }),
    )
    .use(playbackRoutes({ ...deps, db: deps.database.db, accessTokens }))
    .use(
      realtimeRoutes({
        accessTokens,
        allowedOrigins,
        hub: deps.realtime,
        watchProgress,
        clock: deps.clock,
        log,
        metrics,
      }),
    )
    .use(catalogueRoutes({ config, db: deps.database.db, log, auth, subscriber: deps.subscriber }))
    .use(progressRoutes({ service: watchProgress, auth }))
    .use(await queueDashboard(auth, deps.dashboardQueues))
    .get("/api/me/", ({ user }) => ({ id: user.id, email: user.email, is_admin: user.isAdmin }), {
      auth: true,
      response: {
        200: t.Object({ id: t.Integer(), email: t.String(), is_admin: t.Boolean() }),
        401: ErrorBody,
      },
      detail: { tags: ["Accounts"], summary: "The signed-in user" },
    });
}

export type App = Awaited<ReturnType<typeof createApp>>;
