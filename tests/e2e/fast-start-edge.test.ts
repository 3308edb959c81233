// A fast-start tree through the nginx edge: its playlists come from the api with their short
// Cache-Control intact (the edge caches no playlist), its segments (`?v=<revision>-fast`) are sent by
// nginx itself from `videos/<id>/r<revision>-fast/`, immutable like the ladder's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { freePort } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const MEDIA_TOKEN_SECRET = "edge-test-media-secret-0123456789abcdef";
const SEGMENT = "fast-start segment bytes\n";

let api: TestApi;
let edge: RunningEdge;
let viewer: Client;
let transcoder: TestTranscoder;
let videoId: number;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, MEDIA_TOKEN_SECRET });
  const admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);
  videoId = (await createVideo(api, admin, { title: "Fast start at the edge" })).id;
  const tree = join(api.config.mediaRoot, fastStartPrefixFor(videoId, 1));
  const files: Record<string, string> = {
    "master.m3u8":
      "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n",
    "360p/index.m3u8":
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-START:TIME-OFFSET=0\n#EXTINF:2.0,\nseg_00000.ts\n",
    "360p/seg_00000.ts": SEGMENT,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), text);
  }
  await transcoder.reporter.report({
    type: "playable",
    videoId,
    revision: 1,
    at: new Date().toISOString(),
    rendition: {
      name: "360p",
      width: 640,
      height: 360,
      bandwidth: 900_000,
      averageBandwidth: 700_000,
      codecs: "avc1.64001e,mp4a.40.2",
      frameRate: 30,
    },
    masterPlaylist: "master.m3u8",
    durationSeconds: 120,
  });
  await eventually("video playable", async () => (await getVideo(admin, videoId)).playable);
  edge = await startEdge({
    port: await freePort(),
    apiUpstream: new URL(api.url).host,
    mediaRoot: api.config.mediaRoot,
    mediaTokenSecret: MEDIA_TOKEN_SECRET,
    sharedMaxAgeSeconds: api.config.mediaTokenTtlSeconds,
    corsOrigins: ["http://frontend.test"],
  });
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await transcoder?.close();
  await api?.stop();
});

const cookie = () => ({ cookie: [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; ") });
const uris = (text: string) => text.split("\n").filter((line) => line.trim() && !line.startsWith("#"));

describe("fast start through the edge", () => {
  test("playlists keep max-age=1 and the playlist type; segments are nginx's, immutable", async () => {
    const master = await fetch(`${edge.url}/api/video/${videoId}/master.m3u8`, { headers: cookie() });
    expect(master.status).toBe(200);
    expect(master.headers.get("cache-control")).toContain("max-age=1");
    const mediaUrl = new URL(uris(await master.text())[0]!, master.url);
    expect(mediaUrl.searchParams.get("v")).toBe("1-fast");
    const media = await fetch(mediaUrl);
    expect(media.status).toBe(200);
    expect(media.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(media.headers.get("cache-control")).toContain("max-age=1");
    expect(media.headers.get("x-served-by")).toBeNull();
    const segmentUrl = new URL(uris(await media.text())[0]!, mediaUrl);
    const segment = await fetch(segmentUrl);
    expect(segment.status).toBe(200);
    expect(segment.headers.get("x-served-by")).toBe("edge");
    expect(segment.headers.get("cache-control")).toContain("immutable");
    expect(await segment.text()).toBe(SEGMENT);
  });
});
