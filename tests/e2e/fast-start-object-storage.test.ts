// Fast start on object storage (SeaweedFS, real signed S3), api and transcoder on separate "hosts"
// that share only PostgreSQL, Redis and the bucket: segments are uploaded as they complete, the api's
// EVENT playlist lists presigned URLs of segments that are all in the bucket, the ladder replaces it,
// and a delete empties the video's prefix.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { generateVideo } from "../../dev/media.ts";
import { bucketClient } from "../../dev/s3-buckets.ts";
import { testS3 } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { startTranscoder, type TranscoderProcess, untilState, uploadFile } from "../support/farm.ts";
import { FAST_START_ENV, untilPlayable, viewPlaylists } from "../support/fast-start.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const workDir = mkdtempSync(join(tmpdir(), "vf-fast-s3-"));
let bucket: Awaited<ReturnType<typeof testS3>>;
let api: TestApi;
let admin: Client;
let viewer: Client;
let worker: TranscoderProcess;
let sourcePath: string;

const keysUnder = async (prefix: string) => {
  const listed = await bucketClient(bucket, bucket.bucket).list({ prefix, maxKeys: 1000 });
  return (listed.contents ?? []).map((object) => object.key);
};

beforeAll(async () => {
  bucket = await testS3();
  api = await startTestApi({
    ...ADMIN_ENV,
    ...bucket.env,
    MEDIA_ROOT: join(workDir, "api", "media"),
    STORAGE_SWEEP_INTERVAL_SECONDS: "86400",
  });
  [admin, viewer] = await Promise.all([adminClient(api), loggedInClient(api)]);
  sourcePath = await generateVideo(join(workDir, "long.mp4"), {
    seconds: 20,
    width: 854,
    height: 480,
    fps: 30,
    audio: "stereo",
  });
  worker = startTranscoder(api, "s3-host", {
    ...bucket.env,
    ...FAST_START_ENV,
    MEDIA_ROOT: join(workDir, "transcoder", "media"),
    TRANSCODER_SCRATCH: join(workDir, "transcoder", "scratch"),
  });
}, 120_000);

afterAll(async () => {
  await worker?.kill9();
  await api?.stop();
  await bucket?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("fast start with object storage", () => {
  test("playable from the bucket while processing, every listed segment already uploaded; then ready; a delete empties the prefix", async () => {
    const video = await uploadFile(api, admin, sourcePath);
    await untilPlayable(admin, video.id);
    const fast = await viewPlaylists(viewer, video.id);
    expect(fast.variants[0]).toMatch(/^360p\/index\.m3u8\?v=1-fast&token=/);
    expect(fast.mediaText).toContain("#EXT-X-PLAYLIST-TYPE:EVENT");
    expect(fast.media.headers.get("cache-control")).toContain("max-age=1");
    // Presigned URLs straight to the bucket, each for a segment that is there.
    expect(fast.segments.length).toBeGreaterThan(0);
    for (const url of fast.segments) {
      expect(url).toStartWith(bucket.endpoint);
      const segment = await fetch(url);
      expect(segment.status).toBe(200);
      expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    const prefix = `${fastStartPrefixFor(video.id, 1)}/`;

    await untilState(admin, video.id, "ready", 120_000);
    const full = await viewPlaylists(viewer, video.id);
    expect(full.variants).toHaveLength(2);
    // The fast-start tree stays in the bucket for the players that started on it.
    expect((await keysUnder(prefix)).some((key) => key.endsWith("360p/index.m3u8"))).toBe(true);
    const held = await viewer.get(`/api/video/${video.id}/${fast.variants[0]}`);
    expect(held.status).toBe(200);
    expect(await held.text()).toContain("#EXT-X-ENDLIST");

    expect((await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);
    await eventually(
      "the video's objects to be gone",
      async () => (await keysUnder(`videos/${video.id}/`)).length === 0,
      20_000,
    );
  }, 240_000);
});
