// GET /api/ws: the realtime channel of signed-in clients (transcoding progress for admins, catalogue
// changes for everyone). The protocol is in protocol.ts and docs/realtime.md.
import type { Server } from "bun";
import { Elysia } from "elysia";
import type Redis from "ioredis";
import { decodeJwt } from "jose";
import type { Logger } from "pino";
import type { AccessTokens, SessionUser } from "../auth/access-tokens.ts";
import { accessTokenOf } from "../auth/plugin.ts";
import { ApiError, forbidden, unauthorized } from "../http/errors.ts";
import type { ApiMetrics } from "../metrics/service.ts";
import type { WatchProgressService } from "../progress/service.ts";
import { type Connection, RealtimeHub } from "./hub.ts";

export { RealtimeHub } from "./hub.ts";

import {
  CloseCodes,
  type ErrorCode,
  MAX_FOLLOWED_VIDEOS,
  MAX_PROGRESS_PER_WINDOW,
  PROGRESS_WINDOW_MS,
  SESSION_CHANNEL,
  type ServerMessage,
  type SessionRevoked,
  Topics,
  WS_BACKPRESSURE_LIMIT_BYTES,
} from "./protocol.ts";

export interface RealtimeDeps {
  accessTokens: AccessTokens;
  /** Origins a browser may open the socket from (PUBLIC_URL's and CORS_ORIGINS). */
  allowedOrigins: ReadonlySet<string>;
  /**
   * The replica's hub, listening on its Redis subscriber (runtime.ts creates both, and closes the
   * sockets before stopping the server). Without one the endpoint answers but carries no events.
   */
  hub?: RealtimeHub;
  /** Where player heartbeats sent over the socket go (the same service as PUT /api/progress/:videoId). */
  watchProgress: Pick<WatchProgressService, "record">;
  clock: { now(): Date };
  log: Logger;
  /** Open sockets (read from the hub at every scrape) and why they closed. */
  metrics?: Pick<ApiMetrics, "watchWebSockets" | "webSocketClosed">;
}

interface Session {
  user: SessionUser;
  expiresAtMs: number;
  server: Server<unknown>;
}

/** The WebSocket endpoint; one RealtimeHub per app (per replica). */
export function realtimeRoutes(deps: RealtimeDeps) {
  const hub = deps.hub ?? new RealtimeHub(deps.log);
  deps.metrics?.watchWebSockets(hub);
  return (
    new Elysia({ name: "realtime" })
      // `server` is named here so that Elysia puts it into the context the sockets carry.
      .resolve(async ({ request, server }): Promise<{ session: Session }> => {
        // Cross-site WebSocket hijacking: a browser always sends Origin, so a foreign one is refused;
        // clients that are not browsers send none and authenticate with the cookie alone.
        const origin = request.headers.get("origin");
        if (origin !== null && !deps.allowedOrigins.has(origin) && origin !== ownOrigin(request))
          throw forbidden("WebSocket refused: this Origin is not allowed.");
        const token = accessTokenOf(request);
        const user = await deps.accessTokens.verify(token);
        if (!user || !token) throw unauthorized();
        if (!server) throw new Error("the WebSocket endpoint needs Bun's server");
        return { session: { user, expiresAtMs: (decodeJwt(token).exp ?? 0) * 1000, server } };
      })
      .ws("/api/ws", {
        detail: {
          tags: ["Realtime"],
          summary: "WebSocket: transcoding progress and catalogue changes",
          description:
            "Upgrades with a valid `access_token` cookie (401 otherwise) from an allowed Origin (403 otherwise). JSON messages with a `type`; see docs/realtime.md.",
        },
        open(ws) {
          const { user, expiresAtMs, server } = ws.data.session;
          hub.add(raw(ws), server, user, expiresAtMs - deps.clock.now().getTime());
          reply(raw(ws), {
            type: "welcome",
            user_id: user.id,
            is_admin: user.isAdmin,
            session_expires_at: new Date(expiresAtMs).toISOString(),
          });
        },
        message(ws, message) {
          const connection = hub.connectionOf(raw(ws));
          if (connection) handleMessage(raw(ws), connection, message, deps);
        },
        close(ws, code) {
          hub.remove(raw(ws));
          deps.metrics?.webSocketClosed(code);
        },
      })
  );
}

// biome-ignore lint/suspicious/noExplicitAny: Bun's sockets carry Elysia's context as data
type Socket = import("bun").ServerWebSocket<any>;
/** Elysia types its socket wrapper's `raw` with an older ServerWebSocket; it is Bun's own. */
const raw = (ws: { raw: unknown }) => ws.raw as Socket;

/** A direct reply; a client whose queue is already past the limit is closed instead of buffered more. */
function reply(ws: Socket, message: ServerMessage): void {
  if (ws.getBufferedAmount() > WS_BACKPRESSURE_LIMIT_BYTES) {
    ws.close(CloseCodes.tooSlow, "client too slow");
    return;
  }
  ws.send(JSON.stringify(message));
}

const fail = (ws: Socket, code: ErrorCode, detail: string) => reply(ws, { type: "error", code, detail });

function handleMessage(ws: Socket, connection: Connection, message: unknown, deps: RealtimeDeps): void {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    fail(ws, "bad_message", "Send JSON objects with a `type`.");
    return;
  }
  const body = message as Record<string, unknown>;
  switch (body.type) {
    case "ping": {
      const id = typeof body.id === "string" || typeof body.id === "number" ? body.id : undefined;
      reply(ws, { type: "pong", ...(id !== undefined ? { id } : {}), server_time: new Date().toISOString() });
      return;
    }
    case "subscribe":
    case "unsubscribe": {
      if (!connection.user.isAdmin) {
        fail(ws, "forbidden", "Only admins may follow transcoding progress.");
        return;
      }
      const on = body.type === "subscribe";
      if (body.all_uploads === true) {
        setAllUploads(ws, connection, on);
        reply(ws, { type: on ? "subscribed" : "unsubscribed", all_uploads: true });
        return;
      }
      const id = body.video_id;
      if (!Number.isSafeInteger(id) || (id as number) <= 0) {
        fail(ws, "bad_message", "`video_id` must be a positive integer, or send `all_uploads: true`.");
        return;
      }
      if (on && !connection.videos.has(id as number) && connection.videos.size >= MAX_FOLLOWED_VIDEOS) {
        fail(ws, "too_many_subscriptions", `Follow at most ${MAX_FOLLOWED_VIDEOS} videos; use all_uploads.`);
        return;
      }
      followVideo(ws, connection, id as number, on);
      reply(ws, { type: on ? "subscribed" : "unsubscribed", video_id: id as number });
      return;
    }
    case "progress":
      recordProgress(ws, connection, body, deps);
      return;
    default:
      fail(ws, "unknown_type", "Unknown message type: send ping, subscribe, unsubscribe or progress.");
  }
}

/** A player heartbeat: validated and stored by the watch-progress service, acknowledged or refused. */
function recordProgress(
  ws: Socket,
  connection: Connection,
  body: Record<string, unknown>,
  deps: RealtimeDeps,
): void {
  const now = Date.now();
  if (now - connection.progressWindowStart >= PROGRESS_WINDOW_MS) {
    connection.progressWindowStart = now;
    connection.progressCount = 0;
  }
  if (++connection.progressCount > MAX_PROGRESS_PER_WINDOW) {
    fail(
      ws,
      "rate_limited",
      `At most ${MAX_PROGRESS_PER_WINDOW} progress messages per ${PROGRESS_WINDOW_MS / 1000} s.`,
    );
    return;
  }
  const videoId = body.video_id;
  const sentAt = body.sent_at;
  if (!Number.isSafeInteger(videoId) || (videoId as number) <= 0) {
    fail(ws, "bad_message", "`video_id` must be a positive integer.");
    return;
  }
  if (sentAt !== undefined && typeof sentAt !== "string" && typeof sentAt !== "number") {
    fail(ws, "bad_message", "`sent_at` must be an ISO 8601 date-time or epoch milliseconds.");
    return;
  }
  const position = body.position_seconds;
  deps.watchProgress.record(connection.user.id, videoId as number, position, sentAt).then(
    () =>
      reply(ws, {
        type: "progress.saved",
        video_id: videoId as number,
        position_seconds: position as number,
      }),
    (error: unknown) => {
      if (!(error instanceof ApiError)) {
        deps.log.error({ err: error, video_id: videoId }, "recording a WebSocket heartbeat failed");
        fail(ws, "bad_message", "The heartbeat could not be recorded; try again.");
        return;
      }
      const detail = Object.entries(error.body)
        .map(([field, value]) =>
          field === "detail" ? String(value) : `${field}: ${[value].flat().join(" ")}`,
        )
        .join(" ");
      fail(ws, error.status === 404 ? "not_found" : "bad_message", detail);
    },
  );
}

/** An admin is in `admin:uploads` or in its per-video topics, never both: no tick arrives twice. */
function setAllUploads(ws: Socket, connection: Connection, on: boolean): void {
  if (connection.allUploads === on) return;
  connection.allUploads = on;
  if (on) {
    for (const id of connection.videos) ws.unsubscribe(Topics.video(id));
    ws.subscribe(Topics.allUploads);
  } else {
    ws.unsubscribe(Topics.allUploads);
    for (const id of connection.videos) ws.subscribe(Topics.video(id));
  }
}

function followVideo(ws: Socket, connection: Connection, id: number, on: boolean): void {
  if (on) connection.videos.add(id);
  else connection.videos.delete(id);
  if (connection.allUploads) return;
  if (on) ws.subscribe(Topics.video(id));
  else ws.unsubscribe(Topics.video(id));
}

function ownOrigin(request: Request): string | undefined {
  try {
    return new URL(request.url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Called by the logout route with the access token it is ending: announces the end of the user's
 * session on Redis so that every replica closes that user's sockets (4003). Only a token that verifies
 * can announce, so nobody can close another user's sockets.
 */
export function announceLogout(redis: Redis, accessTokens: AccessTokens) {
  return async (accessToken: string | undefined): Promise<void> => {
    const user = await accessTokens.verify(accessToken);
    if (!user) return;
    const event: SessionRevoked = { type: "session.revoked", user_id: user.id };
    await redis.publish(SESSION_CHANNEL, JSON.stringify(event)).catch(() => 0);
  };
}
