// What the fast-start tests share: transcoders that run the pass on short test sources, and the
// viewer's way through a playable video's playlists.
import { expect } from "bun:test";
import { join } from "node:path";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { getVideo } from "./admin.ts";
import { eventually } from "./eventually.ts";
import type { Client, TestApi } from "./test-api.ts";

/** Transcoder settings of these tests: the pass for sources of 5 s and more, a two-rung ladder. */
export const FAST_START_ENV = {
  FAST_START: "on",
  FAST_START_MIN_SECONDS: "5",
  TRANSCODER_LADDER: "360,480",
} as const;

/** Waits until the video is playable while still `processing` (its fast-start rendition is live). */
export const untilPlayable = (admin: Client, id: number, timeoutMs = 90_000) =>
  eventually(
    `video ${id} playable while processing`,
    async () => {
      const video = await getVideo(admin, id);
      if (video.processing_state === "error")
        throw new Error(`video ${id} failed: ${video.processing_error}`);
      if (video.processing_state === "ready")
        throw new Error(`video ${id} was ready before it was seen playable`);
      return video.playable && video.processing_state === "processing" ? video : undefined;
    },
    timeoutMs,
    50,
  );

/** The local driver's folder of a revision's fast-start tree. */
export const fastTreeDir = (api: TestApi, id: number, revision: number) =>
  join(api.config.mediaRoot, fastStartPrefixFor(id, revision));

const uriLines = (text: string) =>
  text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));

export interface ViewedPlaylists {
  master: Response;
  masterText: string;
  /** The master's variant URIs, as the api rendered them. */
  variants: string[];
  media: Response;
  mediaText: string;
  /** The first variant's segment URIs. */
  segments: string[];
}

/** master.m3u8, then its first variant's media playlist, as a viewer's player fetches them. */
export async function viewPlaylists(viewer: Client, id: number): Promise<ViewedPlaylists> {
  const master = await viewer.get(`/api/video/${id}/master.m3u8`);
  const masterText = await master.text();
  expect(master.status, masterText).toBe(200);
  const variants = uriLines(masterText);
  const media = await viewer.get(`/api/video/${id}/${variants[0]}`);
  const mediaText = await media.text();
  expect(media.status, mediaText).toBe(200);
  return { master, masterText, variants, media, mediaText, segments: uriLines(mediaText) };
}

/** The job's log lines of a worker, parsed. */
export const logLines = (logs: string) =>
  logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
