// The job contract between the api and the transcoders: queue names, payloads, progress and state
// events. The one module of transcoder/ that the api imports; it imports nothing of ours.

/** BullMQ queue the api enqueues transcode jobs on and the transcoders consume. */
export const TRANSCODE_QUEUE = "transcode";
/** BullMQ queue the transcoders report state changes on; the api consumes it (exactly one replica per event). */
export const VIDEO_EVENTS_QUEUE = "video-events";
/** Redis pub/sub channel of progress ticks (ephemeral; the latest is also kept at `progressKey`). */
export const PROGRESS_CHANNEL = "vf:video-progress";
/** Redis pub/sub channel on which the api republishes persisted state changes for WebSocket fan-out. */
export const VIDEO_STATE_CHANNEL = "vf:video-state";

export const progressKey = (videoId: number) => `vf:video-progress:${videoId}`;

export interface TranscodeJob {
  videoId: number;
  /** Bumped by every new upload of the video's file; outputs and events are keyed by it. */
  revision: number;
  /** Storage key of the uploaded source file. */
  sourceKey: string;
  /** Storage prefix the finished HLS tree is published under (e.g. `videos/12/r3`). */
  outputPrefix: string;
}

/** One job per video revision: enqueueing the same revision twice is a no-op. */
export const transcodeJobId = (videoId: number, revision: number) => `video-${videoId}-r${revision}`;

export type TranscodeStage = "queued" | "probing" | "encoding" | "verifying" | "thumbnails" | "publishing";

export interface TranscodeProgress {
  videoId: number;
  revision: number;
  stage: TranscodeStage;
  /** 0–100 over the whole job. */
  percent: number;
  /** Rung being encoded, or "all" when the single-decode ladder encodes every rung at once. */
  rung?: string;
  /** Encoding speed as a multiple of real time (FFmpeg's `speed`). */
  speed?: number;
  etaSeconds: number | null;
  /**
   * Epoch milliseconds at which the transcoder emitted the tick (its own clock), stamped by
   * `StateReporter.progress` when the caller leaves it out. Absent from ticks of older transcoders.
   */
  at?: number;
}

export interface Rendition {
  /** `<height>p`, the shorter side for portrait sources; also the folder name. */
  name: string;
  width: number;
  height: number;
  /** Peak segment bitrate, bits/s (HLS BANDWIDTH). */
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  frameRate: number;
}

export interface PosterImage {
  width: number;
  height: number;
  /** Paths relative to the published prefix. */
  jpeg: string;
  webp: string;
}

export interface TranscodeResult {
  durationSeconds: number;
  renditions: Rendition[];
  /** Paths relative to the published prefix. */
  masterPlaylist: string;
  posters: PosterImage[];
  storyboard: { vtt: string; sprites: string[] } | null;
}

export type VideoEvent =
  | { type: "processing"; videoId: number; revision: number; attempt: number; worker: string; at: string }
  | { type: "ready"; videoId: number; revision: number; result: TranscodeResult; at: string }
  | { type: "error"; videoId: number; revision: number; message: string; at: string };

/**
 * Job id of a state event, unique per report: an admin's retry repeats the same transitions, so ids
 * must not collide with an earlier run's. Duplicates are harmless: the api applies transitions
 * conditionally.
 */
export const videoEventJobId = (event: VideoEvent) =>
  `${event.type}-${event.videoId}-r${event.revision}-${Date.parse(event.at)}-${Math.random().toString(36).slice(2, 8)}`;

/** Where a revision's HLS tree is published; a new revision never overwrites the one being watched. */
export const outputPrefixFor = (videoId: number, revision: number) => `videos/${videoId}/r${revision}`;
