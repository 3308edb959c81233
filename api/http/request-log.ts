import { Elysia } from "elysia";
import type { Logger } from "pino";

interface RequestMeta {
  id: string;
  startedAt: number;
}

const meta = new WeakMap<Request, RequestMeta>();
const INCOMING_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The id a request is logged under: the caller's X-Request-Id when sane, else a fresh one. */
export const requestIdOf = (request: Request) => meta.get(request)?.id;

/** Called once per answered request with its route template (none when no route matched). */
export type RequestObserver = (
  method: string,
  route: string | undefined,
  status: number,
  seconds: number,
) => void;

export interface RequestLogOptions {
  /** Metrics: every request is reported here, whatever the log level. */
  onAnswered?: RequestObserver;
  /** Routes whose successful answers are logged at debug only (Prometheus scrapes every few seconds). */
  quietRoutes?: ReadonlySet<string>;
  /** Rewrites a path before it is logged: paths that carry a credential (a direct-upload URL's token). */
  redactPath?: (path: string) => string;
}

/**
 * One JSON log line per request, with its id (echoed in X-Request-Id). Only the path is logged, as
 * `redactPath` leaves it: query strings may carry signed media tokens, and bodies carry passwords.
 */
export const requestLog = (log: Logger, options: RequestLogOptions = {}) =>
  new Elysia({ name: "request-log" })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get("x-request-id");
      const id = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
      meta.set(request, { id, startedAt: performance.now() });
      set.headers["x-request-id"] = id;
    })
    .onAfterResponse({ as: "global" }, ({ request, set, route, responseValue }) => {
      const entry = meta.get(request);
      if (!entry) return;
      const ms = performance.now() - entry.startedAt;
      // A handler that returns its own Response (playback: 206, 304) sets its status there, not in `set`.
      const status =
        responseValue instanceof Response
          ? responseValue.status
          : typeof set.status === "number"
            ? set.status
            : 200;
      options.onAnswered?.(request.method, route || undefined, status, ms / 1000);
      const quiet = status < 400 && !!route && options.quietRoutes?.has(route) === true;
      if (!log.isLevelEnabled(quiet ? "debug" : "info")) return;
      const path = request.url.slice(request.url.indexOf("/", 8)).split("?")[0]!;
      log[quiet ? "debug" : "info"](
        {
          req_id: entry.id,
          method: request.method,
          path: options.redactPath ? options.redactPath(path) : path,
          status,
          ms: Math.round(ms * 10) / 10,
        },
        "request",
      );
    })
    .as("global");
