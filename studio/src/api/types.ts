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

export interface AdminVideo {
  id: number;
  title: string;
  description: string;
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
}

export interface AdminVideoPage {
  items: AdminVideo[];
  next_cursor: string | null;
}

export interface AdminCategory {
  id: number;
  name: string;
  video_count: number;
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
    }
  | { type: "video.created"; id: number; revision: number }
  | { type: "video.playable"; id: number; revision: number }
  | { type: "video.ready"; id: number }
  | { type: "video.updated"; id: number; state?: VideoState; processing_error?: string | null }
  | { type: "video.deleted"; id: number };
