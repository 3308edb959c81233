// The WebSocket protocol of GET /api/ws: JSON text frames, each an object with a `type`. The client's
// messages are TypeBox schemas (checked by actions.ts); the server's are typed below. Shared by the
// server, the tests and the benchmark. Documented in docs/realtime.md.
import { t } from "elysia";

/** Bun topics each replica fans out on: Redis is subscribed once per replica, sockets join topics. */
export const Topics = {
  /** Every signed-in socket: catalogue changes (video.ready / video.updated / video.deleted / category.updated). */
  videos: "videos",
  /** Every admin socket: transcoding state changes (processing / error). */
  admins: "admins",
  /** Admins that asked for the progress of every upload. */
  allUploads: "admin:uploads",
  /** Admins that asked for the progress of one video. */
  video: (id: number) => `admin:video:${id}`,
} as const;

/** Close codes the server uses (4000–4999 are the application's own). */
export const CloseCodes = {
  /** The server is shutting down; reconnect to another replica. */
  goingAway: 1001,
  /** The access token the socket was opened with expired: refresh the session, then reconnect. */
  sessionExpired: 4001,
  /** The session was revoked (logout, password reset, deactivation, an admin; on any replica): do not reconnect with this session. */
  sessionRevoked: 4003,
  /** The client did not read its messages fast enough (see `WS_BACKPRESSURE_LIMIT_BYTES`). */
  tooSlow: 4008,
} as const;

/**
 * Bytes a socket may have queued and unsent. Past it Bun closes the socket at once (the close frame
 * could not get through a full buffer anyway, so the client sees 1006, or 4008 when the overflow was
 * noticed on a direct reply); a slow client never holds up the others' fan-out.
 */
export const WS_BACKPRESSURE_LIMIT_BYTES = 1024 * 1024;
/** Seconds without any frame from the client (Bun pings idle sockets first) before a socket is closed. */
export const WS_IDLE_TIMEOUT_SECONDS = 60;
/** Largest frame a client may send; bigger ones close the socket (1009). */
export const WS_MAX_CLIENT_MESSAGE_BYTES = 4096;
/** Per-socket cap on followed videos (an admin following more should subscribe to all uploads). */
export const MAX_FOLLOWED_VIDEOS = 500;

/** Player heartbeats a socket may send per `PROGRESS_WINDOW_MS` (players send one every few seconds). */
export const MAX_PROGRESS_PER_WINDOW = 20;
export const PROGRESS_WINDOW_MS = 10_000;

/** Server-wide WebSocket settings of Bun.serve; app.ts hands them to the root Elysia instance. */
export const realtimeWebSocketOptions = {
  idleTimeout: WS_IDLE_TIMEOUT_SECONDS,
  sendPings: true,
  backpressureLimit: WS_BACKPRESSURE_LIMIT_BYTES,
  closeOnBackpressureLimit: true,
  maxPayloadLength: WS_MAX_CLIENT_MESSAGE_BYTES,
  perMessageDeflate: false,
  publishToSelf: false,
};

const PositiveId = t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/** What a client may send, by `type`. */
export const ClientMessages = {
  /** Answered with a pong that echoes `id` when it is a string or a number. */
  ping: t.Object({ type: t.Literal("ping"), id: t.Optional(t.Unknown()) }),
  /** Admins only: progress of one video, or of every upload. */
  subscribe: t.Union([
    t.Object({ type: t.Literal("subscribe"), all_uploads: t.Literal(true) }),
    t.Object({ type: t.Literal("subscribe"), video_id: PositiveId }),
  ]),
  unsubscribe: t.Union([
    t.Object({ type: t.Literal("unsubscribe"), all_uploads: t.Literal(true) }),
    t.Object({ type: t.Literal("unsubscribe"), video_id: PositiveId }),
  ]),
  /** A player heartbeat, as PUT /api/progress/:videoId takes it (`sent_at`: ISO date-time or epoch ms). */
  progress: t.Object({
    type: t.Literal("progress"),
    video_id: PositiveId,
    sent_at: t.Optional(t.Union([t.String(), t.Number()])),
    position_seconds: t.Number({ minimum: 0 }),
  }),
} as const;

export type ClientMessageType = keyof typeof ClientMessages;
export type ClientMessage<K extends ClientMessageType = ClientMessageType> =
  (typeof ClientMessages)[K]["static"];

export type VideoProgressState = "pending" | "processing";

/** What the server sends. */
export type ServerMessage =
  | { type: "welcome"; user_id: number; is_admin: boolean; session_expires_at: string }
  | { type: "pong"; id?: string | number; server_time: string }
  | { type: "subscribed"; video_id?: number; all_uploads?: true }
  | { type: "unsubscribed"; video_id?: number; all_uploads?: true }
  | {
      type: "video.progress";
      id: number;
      revision: number;
      state: VideoProgressState;
      percent: number;
      stage: string;
      eta_seconds: number | null;
      /** Epoch ms at which the transcoder emitted the tick (its clock); null from older transcoders. */
      at: number | null;
      /** The run of the job that sent it (as the farm's heartbeats number them); absent from older transcoders. */
      attempt?: number;
      /** Jobs with a fast-start pass: each pass's own percent and ETA (`percent` stays the whole job's). */
      passes?: {
        fast_start?: { percent: number; eta_seconds: number | null };
        ladder?: { percent: number; eta_seconds: number | null };
      };
    }
  /** Its fast-start rendition is published: listed and playable while the ladder is still made. */
  | { type: "video.playable"; id: number; revision: number }
  | { type: "video.ready"; id: number }
  /** Admins: an upload became a video (`pending`); its progress follows for `all_uploads` subscribers. */
  | { type: "video.created"; id: number; revision: number }
  | {
      type: "video.updated";
      id: number;
      state?: "processing" | "error";
      processing_error?: string | null;
    }
  | { type: "video.deleted"; id: number }
  /** A category's name or translations changed: lists that show it are stale (`id`: the category's). */
  | { type: "category.updated"; id: number }
  | { type: "progress.saved"; video_id: number; position_seconds: number }
  | { type: "error"; code: ErrorCode; detail: string };

export type ErrorCode =
  | "bad_message"
  | "unknown_type"
  | "forbidden"
  | "too_many_subscriptions"
  | "not_found"
  | "rate_limited"
  | "unavailable";
