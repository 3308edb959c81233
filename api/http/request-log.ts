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

/**
 * One JSON log line per request, with its id (echoed in X-Request-Id). Only the path is logged: query
 * strings may carry signed media tokens, and bodies carry passwords.
 */
export const requestLog = (log: Logger) =>
  new Elysia({ name: "request-log" })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get("x-request-id");
      const id = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
      meta.set(request, { id, startedAt: performance.now() });
      set.headers["x-request-id"] = id;
    })
    .onAfterResponse({ as: "global" }, ({ request, set }) => {
      const entry = meta.get(request);
      if (!entry || !log.isLevelEnabled("info")) return;
      const path = request.url.slice(request.url.indexOf("/", 8)).split("?")[0];
      log.info(
        {
          req_id: entry.id,
          method: request.method,
          path,
          status: typeof set.status === "number" ? set.status : 200,
          ms: Math.round((performance.now() - entry.startedAt) * 10) / 10,
        },
        "request",
      );
    })
    .as("global");
