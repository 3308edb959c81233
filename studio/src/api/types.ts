// The shapes the studio reads from the public API (GET /api/admin/videos and friends, the WebSocket's
// events: docs/realtime.md). Written out here on purpose: the studio imports nothing of the server.

export const VIDEO_STATES = ["pending", "processing", "ready", "error"] as const;
export type VideoState = (typeof VIDEO_STATES)[number];

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
}

export interface TranscodeProgress {
  percent: number;
  stage: string;
  eta_seconds: number | null;
}

export interface PosterLink {
  width: number;
  height: number;
  jpeg_url: string;
  webp_url: string;
}

/** Title and description in another language; a field left out falls back to the default's. */
export interface TranslatedText {
  title?: string;
  description?: string;
}

export interface AdminVideo {
  id: number;
  title: string;
  description: string;
  translations?: Record<string, TranslatedText>;
  category: string;
  created_at: string;
  revision: number;
  processing_state: VideoState;
  processing_error: string | null;
  playable: boolean;
  progress: TranscodeProgress;
  duration_seconds: number | null;
  renditions: Rendition[];
  thumbnail_url: string | null;
  /** The revision viewers watch now (below `revision` while a replaced file is transcoded). */
  published_revision?: number | null;
  posters?: PosterLink[];
  storyboard_url?: string | null;
}

/** A rung as the catalogue lists it: with its progressive MP4 once it has one. */
export interface PlayableRendition extends Rendition {
  mp4_url?: string;
  size?: number;
}

/** `GET /api/videos/:id`: the catalogue's view, which carries the signed MP4 links. */
export interface CatalogueVideo {
  id: number;
  renditions: PlayableRendition[];
}

/** One run of a video's transcode job (`GET /api/admin/videos/:id/attempts`). */
export interface TranscodeAttempt {
  revision: number;
  attempt: number;
  worker: string;
  started_at: string;
  finished_at: string | null;
  duration_seconds: number | null;
  outcome: "running" | "ready" | "error" | "failed" | "interrupted";
  error: string | null;
}

export interface AdminVideoPage {
  items: AdminVideo[];
  next_cursor: string | null;
}

export interface AdminCategory {
  id: number;
  name: string;
  video_count: number;
  created_at: string;
}

/** An account as `GET /api/admin/users` lists it. */
export interface AdminUser {
  id: number;
  email: string;
  is_active: boolean;
  is_admin: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface AdminUserPage {
  results: AdminUser[];
  /** Pass as `after` for the next page; null on the last one. */
  next_after: number | null;
}

/** One live session of a user (`GET /api/admin/users/:id/sessions`). */
export interface AdminSession {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
}

export interface SignedInUser {
  id: number;
  email: string;
  is_admin: boolean;
}

/** The server's WebSocket messages the studio acts on; others are ignored. */
export type RealtimeEvent =
  | { type: "welcome"; user_id: number; is_admin: boolean }
  | {
      type: "video.progress";
      id: number;
      revision: number;
      state: VideoState;
      percent: number;
      stage: string;
      eta_seconds: number | null;
      /** The run of the job that sent it (the farm's `attempt`); absent from older transcoders. */
      attempt?: number;
    }
  | { type: "video.created"; id: number; revision: number }
  | { type: "video.playable"; id: number; revision: number }
  | { type: "video.ready"; id: number }
  | { type: "video.updated"; id: number; state?: VideoState; processing_error?: string | null }
  | { type: "video.deleted"; id: number };

/** A job a transcoder runs (`GET /api/admin/farm`), with its video's title and latest progress tick. */
export interface FarmJob {
  job_id: string;
  video_id: number;
  revision: number;
  attempt: number;
  started_at: string;
  /** Null: the video was deleted while its job ran. */
  title: string | null;
  progress: TranscodeProgress | null;
}

export interface FarmTranscoder {
  name: string;
  host: string;
  pid: number;
  /** `none` (CPU), `nvenc` (GPU encode), `cuda-decode` (GPU decode, CPU encode). */
  hwaccel: string;
  encoder: string;
  gpu: boolean;
  concurrency: number;
  started_at: string;
  uptime_seconds: number;
  last_seen_at: string;
  /** By the server's (Redis's) clock: the browser's own may be off. */
  last_seen_seconds_ago: number;
  jobs: FarmJob[];
}

export interface AttemptCounts {
  completed: number;
  failed: number;
}

export interface FarmOverview {
  transcoders: FarmTranscoder[];
  /** Silent for more than 15 s: crashed or cut off (a graceful stop leaves the list at once). */
  quiet_transcoders: FarmTranscoder[];
  queue: { waiting: number; active: number; delayed: number; failed: number };
  throughput: { last_15_minutes: AttemptCounts; last_hour: AttemptCounts };
  dashboard_url: string;
}

/** `GET /api/admin/farm/failed`: a job the queue keeps as failed. */
export interface FailedFarmJob {
  job_id: string;
  video_id: number | null;
  revision: number | null;
  attempts_made: number;
  error: string;
  failed_at: string | null;
  title: string | null;
  video_state: VideoState | null;
  /** False when the video's file was replaced since: the api refuses a retry of this job (409). */
  current: boolean;
}

export interface RetriedFarmJob {
  job_id: string;
  video_id: number;
  revision: number;
  processing_state: "pending";
}
