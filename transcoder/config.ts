import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, decimal, type Env, integer, optional, url } from "../config/env.ts";
import { loadStorageSettings, type StorageSettings } from "../config/storage.ts";
import { DEFAULT_CHUNK_MIN_SECONDS, DEFAULT_CHUNK_SEGMENTS } from "./chunks/plan.ts";
import { DEFAULT_ENCODE_TIMEOUT, type EncodeTimeoutSettings } from "./encode-deadline.ts";
import { HWACCEL_SETTINGS, type HwAccelSetting, isHwAccelSetting } from "./hwaccel/modes.ts";
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from "./source-limits.ts";

/** The transcoder's settings, read once at start-up; a bad value stops the worker naming the variable. */
export interface TranscoderConfig {
  readonly redisUrl: string;
  /** Where media lives (config/storage.ts): MEDIA_ROOT, or the bucket of STORAGE_URL. */
  readonly storage: StorageSettings;
  /**
   * This worker's own working directory when media lives in a bucket (source download, outputs before
   * upload); emptied at start. With the local driver, staging stays on the media volume (atomic rename).
   */
  readonly scratchDir: string;
  readonly hwaccel: HwAccelSetting;
  readonly preset: string;
  readonly segmentSeconds: number;
  readonly ladderHeights: readonly number[];
  /** Jobs one worker process runs at once (FFmpeg already uses every core: keep it at 1 on small hosts). */
  readonly concurrency: number;
  /** How long SIGTERM lets the running job finish before FFmpeg is stopped and the job handed back. */
  readonly shutdownGraceSeconds: number;
  /** A job whose worker stopped renewing its lock this long ago is taken over by another replica. */
  readonly stalledIntervalSeconds: number;
  readonly workerName: string;
  readonly logLevel: string;
  /** Port of the worker's own HTTP server (GET /metrics, GET /health); 0: none. */
  readonly metricsPort: number;
  /** Where /metrics and /health listen: loopback unless told otherwise (a container sets 0.0.0.0). */
  readonly metricsHost: string;
  /**
   * What one source may declare (MAX_SOURCE_SECONDS, MAX_SOURCE_FRAMES, MAX_SOURCE_PIXEL_RATE) and how
   * few bytes a declared second may weigh (MIN_SOURCE_BYTES_PER_SECOND).
   */
  readonly sourceLimits: SourceLimits;
  /** How long the ladder's FFmpeg may run (TRANSCODER_TIMEOUT_*). */
  readonly encodeTimeout: EncodeTimeoutSettings;
  /** Below this many free bytes the working file system (media root or scratch) counts as full. */
  readonly minFreeBytes: number;
  /** How often a worker held back by a full file system looks again. */
  readonly spacePollSeconds: number;
  /**
   * The fast-start pass (docs/fast-start.md): `on` for every job the api allows it, `off` never, `auto`
   * like `on` except on a GPU whose ladder is measured faster than real time at start-up.
   */
  readonly fastStart: FastStartSetting;
  /** Sources shorter than this get no fast-start pass (the ladder is quick enough). */
  readonly fastStartMinSeconds: number;
  /**
   * Films at least CHUNK_MIN_SECONDS long are cut into chunks of CHUNK_SEGMENTS segments that every
   * replica encodes (transcoder/chunks/); null with CHUNKING=off.
   */
  readonly chunking: {
    readonly minSeconds: number;
    readonly segments: number;
    /** CHUNKING=auto: an NVENC replica plans its films whole while CPU replicas are online. */
    readonly nvencFilmsWholeOnMixedFarm: boolean;
  } | null;
  /**
   * How long a film's pieces wait behind other videos' jobs before the film keeps one piece in line with
   * them (chunks/piece-aging.ts): a steady stream of uploads cannot starve it. Read with CHUNKING off
   * too: such a replica still encodes the pieces of films other replicas planned.
   */
  readonly filmPiecesMaxWaitSeconds: number;
  /**
   * Object storage: the copies of sources this replica keeps for the jobs that read them next (a film's
   * pieces: transcoder/source-cache.ts), in bytes (0: none, each job downloads its own), and how long
   * a copy nobody used stays.
   */
  readonly sourceCache: { readonly maxBytes: number; readonly idleSeconds: number };
}

export const FAST_START_SETTINGS = ["auto", "on", "off"] as const;
/** CHUNKING: `auto` (the default) and `on` cut long films into pieces, `off` keeps one job per film. */
export const CHUNKING_SETTINGS = ["auto", "on", "off"] as const;
export type FastStartSetting = (typeof FAST_START_SETTINGS)[number];

export const X264_PRESETS = [
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
];

export function loadTranscoderConfig(env: Env): TranscoderConfig {
  const hwaccel = optional(env, "TRANSCODER_HWACCEL") ?? "none";
  if (!isHwAccelSetting(hwaccel))
    throw new ConfigError(`TRANSCODER_HWACCEL must be one of ${HWACCEL_SETTINGS.join(", ")}`);
  const preset = optional(env, "TRANSCODER_PRESET") ?? "veryfast";
  if (!X264_PRESETS.includes(preset))
    throw new ConfigError(`TRANSCODER_PRESET must be one of ${X264_PRESETS.join(", ")}`);
  const ladderRaw = optional(env, "TRANSCODER_LADDER") ?? "360,480,720,1080";
  const ladderHeights = ladderRaw.split(",").map((entry) => Number(entry.trim()));
  if (
    ladderHeights.some(
      (height) => !Number.isInteger(height) || height < 144 || height > 4320 || height % 2 !== 0,
    )
  ) {
    throw new ConfigError(
      `TRANSCODER_LADDER must be comma-separated even heights like 360,480,720,1080, got "${ladderRaw}"`,
    );
  }
  const fastStart = optional(env, "FAST_START") ?? "auto";
  if (!(FAST_START_SETTINGS as readonly string[]).includes(fastStart))
    throw new ConfigError(`FAST_START must be one of ${FAST_START_SETTINGS.join(", ")}`);
  // auto by default: a long film takes every replica (docs/chunked-transcoding.md; with one replica the
  // result is the same, bench:farm), but an NVENC replica on a farm with CPU replicas keeps the films it
  // plans whole on its GPU (chunks/film-encoder.ts, cutsFilmsHere). on: every film is cut. off: one job
  // per film, e.g. while a rolling upgrade still runs transcoders older than the pieces
  // (docs/operations.md, "Rolling upgrades").
  const chunking = optional(env, "CHUNKING") ?? "auto";
  if (!(CHUNKING_SETTINGS as readonly string[]).includes(chunking))
    throw new ConfigError(`CHUNKING must be one of ${CHUNKING_SETTINGS.join(", ")}`);
  // Read (and refused when bad) even while off, so that turning CHUNKING on later cannot be the day a
  // typo in them is found.
  const chunks = Object.freeze({
    minSeconds: integer(env, "CHUNK_MIN_SECONDS", DEFAULT_CHUNK_MIN_SECONDS, 1, 7 * 24 * 3600),
    segments: integer(env, "CHUNK_SEGMENTS", DEFAULT_CHUNK_SEGMENTS, 1, 10_000),
  });
  const workerName =
    optional(env, "TRANSCODER_NAME") ?? `${optional(env, "HOSTNAME") ?? "transcoder"}-${process.pid}`;
  return Object.freeze({
    redisUrl: url(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]) as string,
    storage: loadStorageSettings(env),
    scratchDir:
      optional(env, "TRANSCODER_SCRATCH") ??
      join(tmpdir(), "videoflix-scratch", workerName.replace(/[^A-Za-z0-9_.-]/g, "_")),
    hwaccel,
    preset,
    segmentSeconds: integer(env, "HLS_SEGMENT_SECONDS", 6, 1, 30),
    ladderHeights: Object.freeze([...new Set(ladderHeights)].sort((a, b) => a - b)),
    concurrency: integer(env, "TRANSCODER_CONCURRENCY", 1, 1, 64),
    shutdownGraceSeconds: integer(env, "TRANSCODER_SHUTDOWN_GRACE_SECONDS", 20, 0, 3600),
    stalledIntervalSeconds: integer(env, "TRANSCODER_STALLED_INTERVAL_SECONDS", 30, 1, 3600),
    workerName,
    logLevel: optional(env, "LOG_LEVEL") ?? "info",
    metricsPort: integer(env, "TRANSCODER_METRICS_PORT", 9464, 0, 65535),
    metricsHost: optional(env, "TRANSCODER_METRICS_HOST") ?? "127.0.0.1",
    sourceLimits: Object.freeze({
      maxSeconds: integer(env, "MAX_SOURCE_SECONDS", DEFAULT_SOURCE_LIMITS.maxSeconds, 1, 7 * 24 * 3600),
      maxFrames: integer(env, "MAX_SOURCE_FRAMES", DEFAULT_SOURCE_LIMITS.maxFrames, 1, 1e10),
      maxPixelRate: integer(env, "MAX_SOURCE_PIXEL_RATE", DEFAULT_SOURCE_LIMITS.maxPixelRate, 1, 1e12),
      minBytesPerSecond: integer(
        env,
        "MIN_SOURCE_BYTES_PER_SECOND",
        DEFAULT_SOURCE_LIMITS.minBytesPerSecond,
        0,
        1e9,
      ),
    }),
    minFreeBytes: integer(env, "TRANSCODER_MIN_FREE_MB", 256, 0, 1_048_576) * 1024 * 1024,
    spacePollSeconds: integer(env, "TRANSCODER_SPACE_POLL_SECONDS", 10, 1, 3600),
    fastStart: fastStart as FastStartSetting,
    fastStartMinSeconds: integer(env, "FAST_START_MIN_SECONDS", 60, 0, 7 * 24 * 3600),
    chunking: chunking === "off" ? null : { ...chunks, nvencFilmsWholeOnMixedFarm: chunking === "auto" },
    filmPiecesMaxWaitSeconds: integer(env, "FILM_PIECES_MAX_WAIT_SECONDS", 300, 1, 7 * 24 * 3600),
    sourceCache: Object.freeze({
      maxBytes: integer(env, "TRANSCODER_SOURCE_CACHE_MB", 20_480, 0, 1_048_576) * 1024 * 1024,
      idleSeconds: integer(env, "TRANSCODER_SOURCE_CACHE_IDLE_SECONDS", 900, 1, 7 * 24 * 3600),
    }),
    encodeTimeout: Object.freeze({
      floorSeconds: integer(
        env,
        "TRANSCODER_TIMEOUT_FLOOR_SECONDS",
        DEFAULT_ENCODE_TIMEOUT.floorSeconds,
        1,
        86_400,
      ),
      factor: decimal(env, "TRANSCODER_TIMEOUT_FACTOR", DEFAULT_ENCODE_TIMEOUT.factor, 1, 100),
      expectedSpeed: decimal(
        env,
        "TRANSCODER_EXPECTED_SPEED",
        DEFAULT_ENCODE_TIMEOUT.expectedSpeed,
        0.001,
        1000,
      ),
    }),
  });
}
