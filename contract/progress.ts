// Progress of a running transcode: ephemeral ticks on pub/sub, the latest kept in a key per video.
import { type Static, Type } from "@sinclair/typebox";
import { channel } from "./codec.ts";

/** The stages of a job, in the order a transcoder goes through them. */
export const TRANSCODE_STAGES = [
  "queued",
  // Object storage only: the source is copied into the transcoder's own scratch directory first.
  "downloading",
  "probing",
  // A long source first gets a quick single-rung pass, published segment by segment (playable early).
  "fast-start",
  "encoding",
  "verifying",
  // Each rung's segments copied into one progressive MP4 (no second encode).
  "remuxing",
  "thumbnails",
  // Object storage only: the outputs go to the bucket before the revision is reported ready.
  "uploading",
  "publishing",
] as const;
export const TranscodeStage = Type.Union(TRANSCODE_STAGES.map((stage) => Type.Literal(stage)));
export type TranscodeStage = (typeof TRANSCODE_STAGES)[number];

/** One encoding pass of a job: its own share done and its own ETA. */
export const PassProgress = Type.Object({
  percent: Type.Number(),
  etaSeconds: Type.Union([Type.Number(), Type.Null()]),
  speed: Type.Optional(Type.Number()),
});
export type PassProgress = Static<typeof PassProgress>;

export const TranscodeProgress = Type.Object({
  videoId: Type.Integer({ minimum: 1 }),
  revision: Type.Integer({ minimum: 1 }),
  /**
   * The run of the job that sent it (the heartbeat's `attempt`): a crashed or stalled run's last tick
   * stays in the key until the next run's first, and must not pass for the next run's progress.
   * Absent from older transcoders.
   */
  attempt: Type.Optional(Type.Integer({ minimum: 1 })),
  stage: TranscodeStage,
  /** 0–100 over the whole job. */
  percent: Type.Number(),
  /** Rung being encoded, or "all" when the single-decode ladder encodes every rung at once. */
  rung: Type.Optional(Type.String()),
  /** Encoding speed as a multiple of real time (FFmpeg's `speed`). */
  speed: Type.Optional(Type.Number()),
  etaSeconds: Type.Union([Type.Number(), Type.Null()]),
  /**
   * Jobs with a fast-start pass: each pass's own percent (0–100) and ETA, beside the job's `percent`
   * (which stays one bar over the whole job, so clients that know only `percent` keep working).
   * Absent when the job has no fast-start pass, and from older transcoders.
   */
  passes: Type.Optional(
    Type.Object({ fastStart: Type.Optional(PassProgress), ladder: Type.Optional(PassProgress) }),
  ),
  /** Epoch ms at which the transcoder emitted the tick (its clock); absent from older transcoders. */
  at: Type.Optional(Type.Number()),
});
export type TranscodeProgress = Static<typeof TranscodeProgress>;

/** Pub/sub channel of progress ticks. */
export const progressChannel = channel("vf:video-progress", TranscodeProgress);
export const PROGRESS_CHANNEL = progressChannel.name;

/** Key holding a video's latest tick (same encoding as the channel), for whoever asks later. */
export const progressKey = (videoId: number) => `vf:video-progress:${videoId}`;
