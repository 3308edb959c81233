// Composes the api's routes from the services (built once, in services.ts) and the shared HTTP
// plumbing, in the order every request meets them.
import { cors } from "@elysiajs/cors";
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import type { Logger } from "pino";
import { accountAdminRoutes } from "./auth/admin.ts";
import { authRoutes } from "./auth/index.ts";
import { catalogueRoutes } from "./catalogue/index.ts";
import { categoryAdminRoutes } from "./categories/index.ts";
import { COMPAT_PREFIX, compatRoutes, compatTags } from "./compat/index.ts";
import type { Config } from "./config/load.ts";
import { healthRoutes } from "./health/index.ts";
import { API_REFERENCE_SCRIPT_PATH, apiReferenceScript } from "./http/api-reference.ts";
import { corsCredentials } from "./http/cors-credentials.ts";
import { csrfProtection } from "./http/csrf.ts";
import { errorMapper } from "./http/error-mapper.ts";
import { jsonBody } from "./http/json-body.ts";
import { requestLog } from "./http/request-log.ts";
import { metricsRoutes } from "./metrics/index.ts";
import { METRICS_PATH } from "./metrics/service.ts";
import { playbackRoutes } from "./playback/index.ts";
import { progressRoutes } from "./progress/index.ts";
import { farmRoutes, queueDashboardRoutes } from "./queues/index.ts";
import { realtimeRoutes } from "./realtime/index.ts";
import { realtimeWebSocketOptions } from "./realtime/model.ts";
import type { Services } from "./services.ts";
import { studioRoutes } from "./studio/index.ts";
import { videoAdminRoutes } from "./videos/index.ts";
import { uploadRoutes } from "./videos/uploads/index.ts";
import {
  isDirectUploadPath,
  redactedUploadPath,
  TUS_REQUEST_HEADERS,
  TUS_RESPONSE_HEADERS,
  UPLOADS_PATH,
} from "./videos/uploads/tus.ts";

/** Builds the whole api from its services; the runtime and the tests call this with real ones. */
export async function createApp(deps: { config: Config; log: Logger; services: Services }) {
  const { config, log, services } = deps;
  const { auth, languages, metrics } = services;
  const allowedOrigins = new Set([config.publicOrigin, ...config.corsOrigins]);

  // Bun's own body cap sits just above the upload limit; routes enforce their tighter limits.
  return (
    new Elysia({
      serve: { maxRequestBodySize: config.maxUploadBytes + 1024 * 1024 },
      websocket: realtimeWebSocketOptions,
    })
      .use(corsCredentials(allowedOrigins))
      // tus discovery and preflights come before the cors plugin, which answers every OPTIONS itself.
      .onRequest(({ request }) => {
        if (request.method !== "OPTIONS") return;
        const { pathname } = new URL(request.url);
        if (pathname === UPLOADS_PATH || pathname.startsWith(`${UPLOADS_PATH}/`)) {
          return services.resumableUploads.options(request);
        }
      })
      .use(
        cors({
          origin: (request) => allowedOrigins.has(request.headers.get("origin") ?? ""),
          credentials: false,
          // authorization: the djoser dialect's Bearer; x-retry and accept-language: the dialects' clients.
          allowedHeaders: [
            "content-type",
            "x-csrftoken",
            "range",
            "x-request-id",
            "authorization",
            "x-retry",
            "accept-language",
            ...TUS_REQUEST_HEADERS,
          ],
          exposeHeaders: [
            "content-length",
            "content-range",
            "retry-after",
            "x-request-id",
            "etag",
            ...TUS_RESPONSE_HEADERS,
          ],
          methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
          maxAge: 600,
        }),
      )
      .use(
        requestLog(log, {
          onAnswered: metrics.observeRequest,
          quietRoutes: new Set([METRICS_PATH]),
          redactPath: redactedUploadPath,
        }),
      )
      .use(errorMapper(log))
      // A direct-upload URL is used from an integrator's page: its token is the credential, never a cookie.
      .use(csrfProtection(allowedOrigins, [COMPAT_PREFIX], isDirectUploadPath))
      .use(jsonBody(config.maxJsonBodyBytes))
      .use(
        openapi({
          path: "/openapi",
          // The page's script comes from this api (relative, like the plugin's link to the document).
          // (With @scalar/api-reference installed, the plugin types this as Scalar's whole configuration,
          // every field required, though it fills in the rest itself: only `cdn` is ours to set.)
          scalar: { cdn: API_REFERENCE_SCRIPT_PATH.slice(1) } as never,
          exclude: { paths: [API_REFERENCE_SCRIPT_PATH] },
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
              {
                name: "Sessions",
                description:
                  "The signed-in user's sessions: list them, end one (its tokens die on every replica)",
              },
              {
                name: "Admin: accounts",
                description:
                  "Find accounts, activate or deactivate them, grant or revoke admin, see and end a user's sessions (admins only)",
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
                name: "Uploads (tus)",
                description:
                  "Resumable uploads over tus 1.0 (any tus client): an admin session with X-CSRFToken, or a direct-upload URL",
              },
              {
                name: "Admin: direct uploads",
                description: "One-time tus upload URLs for integrators: make, check, cancel (admins only)",
              },
              {
                name: "Admin: farm",
                description:
                  "The transcoders online, queue depth and throughput, failed jobs and their retry (admins only)",
              },
              {
                name: "Admin: categories",
                description: "Category names and their translations (admins only)",
              },
              {
                name: "Catalogue",
                description:
                  "Videos ready to watch: the Videoflix list, filters, search, pages, rows per category; titles, descriptions and category names in the reader's language (`?lang=`, Accept-Language)",
              },
              { name: "Favorites", description: "The signed-in user's own favorite videos" },
              {
                name: "Watch progress",
                description:
                  "Player heartbeats (coalesced in Redis, flushed in batches) and continue watching",
              },
              ...compatTags(config),
            ],
          },
        }),
      )
      .use(apiReferenceScript())
      .use(healthRoutes({ services }))
      .use(metricsRoutes({ services, config }))
      .use(authRoutes({ services, auth, config }))
      .use(accountAdminRoutes({ services, auth }))
      .use(videoAdminRoutes({ services, auth, config }))
      .use(uploadRoutes({ services, auth, config }))
      .use(categoryAdminRoutes({ services, auth, config }))
      .use(farmRoutes({ services, auth, config }))
      .use(playbackRoutes({ services }))
      .use(
        realtimeRoutes({
          services: { ...services, heartbeats: services.watchProgress },
          config: { allowedOrigins },
          log,
          onClosed: metrics.webSocketClosed,
        }),
      )
      .use(catalogueRoutes({ services, auth, languages }))
      .use(progressRoutes({ services, auth, languages, config }))
      .use(compatRoutes({ services, config }))
      .use(studioRoutes({ config }))
      .use(await queueDashboardRoutes({ services, auth }))
  );
}

export type App = Awaited<ReturnType<typeof createApp>>;
