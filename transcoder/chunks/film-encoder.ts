// The video encoder of a film's pieces when GPU and CPU replicas share the farm. One film gets one
// encoder. Its chunks are cut at IDR frames and stitched without a discontinuity, so each rendition
// must be one stream to the player from the first cut to the last: the same parameter sets, the same
// CODECS profile and level that the master playlist measured, the same rate control. NVENC and x264
// chunks mixed in one rendition would change all three at every cut where the encoder changes.
//
// The film's planning replica chooses, from the transcoders online (their heartbeats). A film is
// encoded with h264_nvenc only when every one of them encodes NVENC; otherwise it is encoded with
// libx264, which every replica runs. A GPU replica then encodes its chunks exactly as a CPU replica
// does, decoding and scaling on its CPU too: CUDA's decoder and scaler would give other pixels, and
// the full range of a yuvj420p source, at the cuts between its chunks and theirs.
//
// A replica without NVENC that claims an NVENC piece (it came online after the film was planned)
// hands the piece back for the GPU replicas while one of them has been seen recently. When none has
// been seen for NVENC_GONE_MS, it fails the piece for good: the film fails with that reason, and its
// next attempt is planned for libx264 on the farm as it is then.
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type Redis from "ioredis";
import type { FilmEncoder } from "../../contract/transcode-pieces.ts";
import { HEARTBEAT_STALE_MS, readHeartbeats } from "../../contract/transcoder-heartbeats.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import type { TranscodeLog } from "../log.ts";

/** How long an NVENC piece that a replica without NVENC claimed waits before the queue offers it again. */
export const NVENC_PIECE_HAND_BACK_MS = 5000;
/**
 * How long no transcoder with NVENC may have been heard before an NVENC piece fails for good. It is
 * longer than a heartbeat's 15 s, because a GPU replica that restarts (a rolling upgrade) writes its
 * first heartbeat only after its self-test and ladder measurement.
 */
export const NVENC_GONE_MS = 5 * 60 * 1000;

/**
 * The encoder of a film planned on a replica with acceleration `own`, given the encoders of the
 * transcoders online (the planning replica's own included, when its heartbeat is written).
 */
export function chooseFilmEncoder(own: HwAccelMode, onlineEncoders: readonly string[]): FilmEncoder {
  if (own !== "nvenc") return "libx264";
  return onlineEncoders.every((encoder) => encoder === "h264_nvenc") ? "h264_nvenc" : "libx264";
}

/**
 * The acceleration a replica with acceleration `own` encodes a piece of `encoder` with. Null when it
 * cannot: an NVENC piece on a replica without NVENC. A piece without an encoder (added by an older
 * transcoder) is encoded with the replica's own acceleration, as that version did.
 */
export function pieceHwAccel(encoder: FilmEncoder | undefined, own: HwAccelMode): HwAccelMode | null {
  if (encoder === undefined) return own;
  if (encoder === "h264_nvenc") return own === "nvenc" ? "nvenc" : null;
  // x264 on any replica, through the CPU replicas' very chain (see the top of the file).
  return "none";
}

/**
 * The encoders of the transcoders heard within `withinMs` (by default the farm page's "online": no
 * heartbeat older than HEARTBEAT_STALE_MS).
 */
export async function onlineEncoders(redis: Redis, withinMs = HEARTBEAT_STALE_MS): Promise<string[]> {
  const { heard } = await readHeartbeats(redis, withinMs);
  return heard.map(({ heartbeat }) => heartbeat.encoder);
}

/**
 * Whether this replica cuts a film it plans into pieces (CHUNKING=auto, the default): yes, except an
 * NVENC replica on a farm that also runs replicas without NVENC. There the whole film would be encoded
 * with libx264 (one encoder per film, above), which on the GPU replica is many times slower than its own
 * NVENC ladder: the film is better one NVENC job here, while the CPU replicas' films are cut across the
 * farm and this replica encodes their pieces too. CHUNKING=on cuts every film (that farm: x264 films).
 */
export const cutsFilmsHere = (own: HwAccelMode, filmEncoder: FilmEncoder): boolean =>
  own !== "nvenc" || filmEncoder === "h264_nvenc";

/**
 * What the planning replica records in its pieces: this replica's choice for the farm online now.
 * libx264 when the heartbeats cannot be read: every replica runs it.
 */
export async function filmEncoderFor(
  redis: Redis,
  own: HwAccelMode,
  log?: TranscodeLog,
): Promise<FilmEncoder> {
  if (own !== "nvenc") return "libx264";
  try {
    return chooseFilmEncoder(own, await onlineEncoders(redis));
  } catch (error) {
    log?.warn({ err: error }, "the farm's heartbeats could not be read: the film is encoded with libx264");
    return "libx264";
  }
}

/**
 * The acceleration this replica encodes the claimed piece with. A piece it cannot encode is handed
 * back (DelayedError) while a transcoder with NVENC was heard within NVENC_GONE_MS, and fails for good
 * otherwise.
 */
export async function pieceAccelerationHere(
  job: Job,
  token: string | undefined,
  encoder: FilmEncoder | undefined,
  deps: { redis: Redis; hwaccel: HwAccelMode; log: TranscodeLog },
): Promise<HwAccelMode> {
  const mode = pieceHwAccel(encoder, deps.hwaccel);
  if (mode !== null) return mode;
  const heard = await onlineEncoders(deps.redis, NVENC_GONE_MS);
  if (heard.includes("h264_nvenc") && token) {
    await job.moveToDelayed(Date.now() + NVENC_PIECE_HAND_BACK_MS, token);
    deps.log.info(
      { job_id: job.id, encoder },
      "piece handed back: its film is encoded with NVENC, which this replica lacks",
    );
    throw new DelayedError();
  }
  throw new UnrecoverableError(
    `the film is encoded with ${encoder} and no transcoder that runs it was heard from for ${NVENC_GONE_MS / 60_000} minutes (the film's next attempt is planned for the transcoders online then)`,
  );
}
