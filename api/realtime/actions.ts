// What the server does with each client message: a table of actions, each with the TypeBox schema its
// message must match (ClientMessages), who may send it, and the refusal a malformed one gets.

import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { ServerWebSocket } from "bun";
import type { Logger } from "pino";
import { dependencyOutageOf } from "../http/dependency-outage.ts";
import { ApiError } from "../http/errors.ts";
import { loggableError } from "../http/loggable-error.ts";
import {
  type ClientMessage,
  ClientMessages,
  type ClientMessageType,
  CloseCodes,
  type ErrorCode,
  MAX_FOLLOWED_VIDEOS,
  MAX_PROGRESS_PER_WINDOW,
  PROGRESS_WINDOW_MS,
  type ServerMessage,
  Topics,
  WS_BACKPRESSURE_LIMIT_BYTES,
} from "./model.ts";
import type { Connection } from "./service.ts";

// biome-ignore lint/suspicious/noExplicitAny: Bun's sockets carry Elysia's context as data
export type Socket = ServerWebSocket<any>;

/** Where player heartbeats sent over the socket go (the service behind PUT /api/progress/:videoId). */
export interface HeartbeatRecorder {
  record(userId: number, videoId: number, positionSeconds: unknown, sentAt?: number | string): Promise<void>;
}

export interface ActionContext {
  ws: Socket;
  connection: Connection;
  heartbeats: HeartbeatRecorder;
  log: Logger;
}

interface Action<K extends ClientMessageType> {
  /** A refusal before the message is even checked (who may send it, how often). */
  refuse?(context: ActionContext): { code: ErrorCode; detail: string } | null;
  /** What a message that fails its schema is told, by the first field that is wrong. */
  invalid: { [field: string]: string; default: string };
  handle(context: ActionContext, message: ClientMessage<K>): void;
}

const adminsOnly = (context: ActionContext) =>
  context.connection.user.isAdmin
    ? null
    : { code: "forbidden" as const, detail: "Only admins may follow transcoding progress." };

/** Pings a socket may send per `PING_WINDOW_MS`: enough for a client's keep-alive or latency probe. */
export const MAX_PINGS_PER_WINDOW = 10;
export const PING_WINDOW_MS = 10_000;

// Per-socket ping windows, beside the connection (its fields belong to the realtime service).
const pingWindows = new WeakMap<Connection, { start: number; count: number }>();

function throttlePings({ connection }: ActionContext): { code: "rate_limited"; detail: string } | null {
  const now = Date.now();
  let window = pingWindows.get(connection);
  if (!window || now - window.start >= PING_WINDOW_MS) {
    window = { start: now, count: 0 };
    pingWindows.set(connection, window);
  }
  if (++window.count <= MAX_PINGS_PER_WINDOW) return null;
  return {
    code: "rate_limited",
    detail: `At most ${MAX_PINGS_PER_WINDOW} pings per ${PING_WINDOW_MS / 1000} s.`,
  };
}

const followInvalid = { default: "`video_id` must be a positive integer, or send `all_uploads: true`." };

const actions: { [K in ClientMessageType]: Action<K> } = {
  ping: {
    refuse: throttlePings,
    invalid: { default: 'Send `{type: "ping"}`, with an optional `id`.' },
    handle({ ws }, message) {
      const id = typeof message.id === "string" || typeof message.id === "number" ? message.id : undefined;
      reply(ws, { type: "pong", ...(id !== undefined ? { id } : {}), server_time: new Date().toISOString() });
    },
  },
  subscribe: {
    refuse: adminsOnly,
    invalid: followInvalid,
    handle: (context, message) => follow(context, message, true),
  },
  unsubscribe: {
    refuse: adminsOnly,
    invalid: followInvalid,
    handle: (context, message) => follow(context, message, false),
  },
  progress: {
    refuse({ connection }) {
      const now = Date.now();
      if (now - connection.progressWindowStart >= PROGRESS_WINDOW_MS) {
        connection.progressWindowStart = now;
        connection.progressCount = 0;
      }
      if (++connection.progressCount <= MAX_PROGRESS_PER_WINDOW) return null;
      return {
        code: "rate_limited",
        detail: `At most ${MAX_PROGRESS_PER_WINDOW} progress messages per ${PROGRESS_WINDOW_MS / 1000} s.`,
      };
    },
    invalid: {
      video_id: "`video_id` must be a positive integer.",
      sent_at: "`sent_at` must be an ISO 8601 date-time or epoch milliseconds.",
      position_seconds: "position_seconds: Must be a number of seconds ≥ 0.",
      default: "Send `video_id`, `position_seconds` and optionally `sent_at`.",
    },
    handle: recordHeartbeat,
  },
};

/** Runs the action a client message names; anything else gets an error message, the socket stays open. */
export function handleClientMessage(context: ActionContext, message: unknown): void {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    fail(context.ws, "bad_message", "Send JSON objects with a `type`.");
    return;
  }
  const type = (message as { type?: unknown }).type;
  if (typeof type !== "string" || !Object.hasOwn(actions, type)) {
    fail(context.ws, "unknown_type", "Unknown message type: send ping, subscribe, unsubscribe or progress.");
    return;
  }
  run(
    actions[type as ClientMessageType] as Action<ClientMessageType>,
    type as ClientMessageType,
    context,
    message,
  );
}

function run<K extends ClientMessageType>(
  action: Action<K>,
  type: K,
  context: ActionContext,
  message: object,
) {
  const refusal = action.refuse?.(context);
  if (refusal) {
    fail(context.ws, refusal.code, refusal.detail);
    return;
  }
  const schema: TSchema = ClientMessages[type];
  if (!Value.Check(schema, message)) {
    fail(context.ws, "bad_message", invalidDetail(action, schema, message));
    return;
  }
  action.handle(context, message as ClientMessage<K>);
}

function invalidDetail(action: Action<ClientMessageType>, schema: TSchema, message: object): string {
  // The first property of the message (in schema order) that is wrong names the refusal.
  for (const error of Value.Errors(schema, message)) {
    const field = error.path.split("/")[1];
    if (field && field !== "type" && action.invalid[field]) return action.invalid[field];
  }
  return action.invalid.default;
}

/** A direct reply; a client whose queue is already past the limit is closed instead of buffered more. */
export function reply(ws: Socket, message: ServerMessage): void {
  if (ws.getBufferedAmount() > WS_BACKPRESSURE_LIMIT_BYTES) {
    ws.close(CloseCodes.tooSlow, "client too slow");
    return;
  }
  ws.send(JSON.stringify(message));
}

const fail = (ws: Socket, code: ErrorCode, detail: string) => reply(ws, { type: "error", code, detail });

function follow(
  { ws, connection }: ActionContext,
  message: ClientMessage<"subscribe" | "unsubscribe">,
  on: boolean,
): void {
  const type = on ? "subscribed" : "unsubscribed";
  if ("all_uploads" in message) {
    setAllUploads(ws, connection, on);
    reply(ws, { type, all_uploads: true });
    return;
  }
  const id = message.video_id;
  if (on && !connection.videos.has(id) && connection.videos.size >= MAX_FOLLOWED_VIDEOS) {
    fail(ws, "too_many_subscriptions", `Follow at most ${MAX_FOLLOWED_VIDEOS} videos; use all_uploads.`);
    return;
  }
  followVideo(ws, connection, id, on);
  reply(ws, { type, video_id: id });
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

/** A player heartbeat: validated and stored by the watch-progress service, acknowledged or refused. */
function recordHeartbeat(context: ActionContext, message: ClientMessage<"progress">): void {
  const { ws, connection, heartbeats, log } = context;
  const { video_id: videoId, position_seconds: position, sent_at: sentAt } = message;
  heartbeats.record(connection.user.id, videoId, position, sentAt).then(
    () => reply(ws, { type: "progress.saved", video_id: videoId, position_seconds: position }),
    (error: unknown) => {
      // Redis or PostgreSQL away: the player sends it again later; the outage is logged by the connections.
      if (dependencyOutageOf(error)) {
        fail(ws, "unavailable", "The service is temporarily unavailable; send the heartbeat again shortly.");
        return;
      }
      if (!(error instanceof ApiError)) {
        log.error({ err: loggableError(error), video_id: videoId }, "recording a WebSocket heartbeat failed");
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
