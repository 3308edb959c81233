// Liveness of the farm: every transcoder writes a heartbeat into one Redis hash (field: its
// TRANSCODER_NAME) every few seconds and whenever a job starts or ends, and removes it when it stops.
// The api lists the transcoders whose heartbeat is recent (GET /api/admin/farm); a worker killed
// without a word drops out once its last heartbeat is older than HEARTBEAT_STALE_MS.
import { type Static, Type } from "@sinclair/typebox";
import { messageCodec } from "./codec.ts";

export const TranscoderHeartbeat = Type.Object({
  name: Type.String({ minLength: 1 }),
  host: Type.String(),
  pid: Type.Integer({ minimum: 0 }),
  /** The acceleration that passed the start-up self-test: `none` (CPU), `nvenc`, `cuda-decode`. */
  hwaccel: Type.String(),
  /** The video encoder FFmpeg runs (`libx264`, `h264_nvenc`). */
  encoder: Type.String(),
  /** Jobs it runs at once (TRANSCODER_CONCURRENCY). */
  concurrency: Type.Integer({ minimum: 1 }),
  /** ISO 8601: when the process started taking jobs. */
  startedAt: Type.String(),
  /** Epoch ms of this heartbeat, by the transcoder's clock. */
  sentAt: Type.Number(),
  /** The attempts it runs now. */
  jobs: Type.Array(
    Type.Object({
      jobId: Type.String(),
      videoId: Type.Integer({ minimum: 1 }),
      revision: Type.Integer({ minimum: 1 }),
      attempt: Type.Integer({ minimum: 1 }),
      /** ISO 8601: when this attempt was claimed. */
      startedAt: Type.String(),
    }),
  ),
});
export type TranscoderHeartbeat = Static<typeof TranscoderHeartbeat>;

export const transcoderHeartbeats = messageCodec(TranscoderHeartbeat);

/** The hash of every transcoder's latest heartbeat, by name. */
export const TRANSCODERS_KEY = "vf:transcoders";
export const HEARTBEAT_INTERVAL_MS = 5000;
/** Three missed heartbeats: the transcoder is gone (crashed, cut off, or its host is). */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_INTERVAL_MS;
