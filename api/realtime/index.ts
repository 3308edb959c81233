// GET /api/ws: the realtime channel of signed-in clients (transcoding progress for admins, catalogue
// changes for everyone). The protocol is in model.ts and docs/realtime.md.
import type { Server } from "bun";
import { Elysia } from "elysia";
import { decodeJwt } from "jose";
import type { Logger } from "pino";
import { accessTokenOf, cookieSession } from "../auth/plugin.ts";
import type { AccessTokens, SessionUser } from "../auth/session.ts";
import { forbidden, unauthorized } from "../http/errors.ts";
import { ownOrigin } from "../http/origin.ts";
import type { Clock } from "../shared/clock.ts";
import { type HeartbeatRecorder, handleClientMessage, reply, type Socket } from "./actions.ts";
import type { RealtimeHub } from "./service.ts";

export interface RealtimeRouteDeps {
  services: {
    /** The replica's hub, fed by the event bus (the runtime closes its sockets before stopping the server). */
    realtime: RealtimeHub;
    /** Where player heartbeats sent over the socket go (the same service as PUT /api/progress/:videoId). */
    heartbeats: HeartbeatRecorder;
    accessTokens: AccessTokens;
    clock: Clock;
  };
  config: {
    /** Origins a browser may open the socket from (PUBLIC_URL's and CORS_ORIGINS). */
    allowedOrigins: ReadonlySet<string>;
  };
  log: Logger;
  /** Called for every socket that closes, with its close code (metrics). */
  onClosed?: (code: number) => void;
}

interface Session {
  user: SessionUser;
  expiresAtMs: number;
  server: Server<unknown>;
}

/** Elysia types its socket wrapper's `raw` with an older ServerWebSocket; it is Bun's own. */
const raw = (ws: { raw: unknown }) => ws.raw as Socket;

/** The WebSocket endpoint; one RealtimeHub per app (per replica). */
export function realtimeRoutes(deps: RealtimeRouteDeps) {
  const { realtime: hub, heartbeats, accessTokens, clock } = deps.services;
  const { allowedOrigins } = deps.config;
  return (
    new Elysia({ name: "realtime" })
      // `server` is named here so that Elysia puts it into the context the sockets carry.
      .resolve(async ({ request, server }): Promise<{ session: Session }> => {
        // Cross-site WebSocket hijacking: a browser always sends Origin, so a foreign one is refused;
        // clients that are not browsers send none and authenticate with the cookie alone.
        const origin = request.headers.get("origin");
        if (origin !== null && !allowedOrigins.has(origin) && origin !== ownOrigin(request))
          throw forbidden("WebSocket refused: this Origin is not allowed.");
        const token = accessTokenOf(request);
        const user = await cookieSession.verify(accessTokens, token);
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
          hub.add(raw(ws), server, user, expiresAtMs - clock.now().getTime());
          reply(raw(ws), {
            type: "welcome",
            user_id: user.id,
            is_admin: user.isAdmin,
            session_expires_at: new Date(expiresAtMs).toISOString(),
          });
        },
        message(ws, message) {
          const connection = hub.connectionOf(raw(ws));
          if (connection)
            handleClientMessage({ ws: raw(ws), connection, heartbeats, log: deps.log }, message);
        },
        close(ws, code) {
          hub.remove(raw(ws));
          deps.onClosed?.(code);
        },
      })
  );
}
