// A REAL transcoded tree for the playback tests (tests/api/playback.test.ts, progressive-mp4.test.ts,
// tests/e2e/edge*.test.ts): a 3 s 640×360 stereo source through transcoder/pipeline.ts (ultrafast,
// 1 s segments), published and reported ready as a worker does, and the nginx edge in front of the api.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { generateVideo } from "../../dev/media.ts";
import { freePort } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import type { TestApi } from "./test-api.ts";
import type { TestTranscoder } from "./transcoder.ts";

/** The small source every real tree is cut from, generated under `workDir`. */
export function smallSource(workDir: string): Promise<string> {
  return generateVideo(join(workDir, "source.mp4"), {
    seconds: 3,
    width: 640,
    height: 360,
    fps: 25,
    audio: "stereo",
  });
}

/**
 * `sourcePath` transcoded into a staging dir named `stagingName` and published ready for `videoId`
 * (its first revision): the result the worker reported and the published tree on the media root.
 */
export async function publishRealTree(
  api: TestApi,
  transcoder: TestTranscoder,
  videoId: number,
  sourcePath: string,
  options: { stagingName: string; ladderHeights: number[]; thumbnails?: boolean },
): Promise<{ result: TranscodeResult; tree: string }> {
  const staging = await api.runtime.storage.createStagingDir(options.stagingName);
  const result = await transcode({
    sourcePath,
    outputDir: staging,
    segmentSeconds: 1,
    preset: "ultrafast",
    ladderHeights: options.ladderHeights,
    thumbnails: options.thumbnails,
  });
  await transcoder.publishReady(videoId, staging, result);
  return { result, tree: join(api.config.mediaRoot, outputPrefixFor(videoId, 1)) };
}

/** The edge in front of `api`, on its media root, with the api's media token secret and TTL. */
export async function startTestEdge(
  api: TestApi,
  mediaTokenSecret: string,
  corsOrigins: string[],
): Promise<RunningEdge> {
  return startEdge({
    port: await freePort(),
    apiUpstream: new URL(api.url).host,
    mediaRoot: api.config.mediaRoot,
    mediaTokenSecret,
    sharedMaxAgeSeconds: api.config.mediaTokenTtlSeconds,
    corsOrigins,
  });
}

/** What a real-tree test started, stopped in reverse order; any of it may be missing if setup failed. */
export async function stopRealTree(started: {
  edge?: RunningEdge;
  transcoder?: TestTranscoder;
  api?: TestApi;
  workDir?: string;
}): Promise<void> {
  await started.edge?.stop();
  await started.transcoder?.close();
  await started.api?.stop();
  if (started.workDir) await rm(started.workDir, { recursive: true, force: true });
}
