// How the api applies fast start, with the transcoder's own reporter and no FFmpeg: a `playable` report
// publishes the revision's fast-start tree (state `processing`, listed, one rung, `video.playable`),
// `ready` replaces it and retires it rather than deleting it, a job says whether it may fast start
// (never over a published ladder), and a fast-start tree nothing wants any more is removed.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import { fastStartPrefixFor, type Rendition } from "../../contract/media.ts";
import { videoChanges } from "../../contract/video-changes.ts";
import { retiredRevisions, videos } from "../../db/schema/index.ts";
import { listedSegments } from "../../transcoder/fast-start/playlist.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo, replaceFile, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree, tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

let api: TestApi;
let admin: Client;
let viewer: Client;
let transcoder: TestTranscoder;
let subscriber: Redis;
const announced: Array<{ type: string; id: number; revision?: number }> = [];

const RENDITION: Rendition = {
  name: "360p",
  width: 640,
  height: 360,
  bandwidth: 900_000,
  averageBandwidth: 700_000,
  codecs: "avc1.64001e,mp4a.40.2",
  frameRate: 30,
};

/** The files a fast-start pass would have published so far. */
function publishFastTree(id: number, revision: number, ended: boolean): string {
  const dir = join(api.config.mediaRoot, fastStartPrefixFor(id, revision));
  const files: Record<string, string> = {
    "master.m3u8":
      "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n",
    "360p/index.m3u8": `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2.0,\nseg_00000.ts\n${ended ? "#EXT-X-ENDLIST\n" : ""}`,
    "360p/seg_00000.ts": "fake segment\n",
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const report = {
  playable: (videoId: number, revision = 1) =>
    transcoder.reporter.report({
      type: "playable",
      videoId,
      revision,
      at: new Date().toISOString(),
      rendition: RENDITION,
      masterPlaylist: "master.m3u8",
      durationSeconds: 120,
    }),
  ready: (videoId: number, revision = 1) =>
    transcoder.reporter.report({
      type: "ready",
      videoId,
      revision,
      at: new Date().toISOString(),
      result: fabricatedResult(120),
    }),
  error: (videoId: number, revision = 1) =>
    transcoder.reporter.report({
      type: "error",
      videoId,
      revision,
      at: new Date().toISOString(),
      message: "The uploaded file is no longer there (the video was deleted or its file replaced).",
    }),
};
const jobOf = async (id: number, revision = 1) => (await api.runtime.transcodeQueue.job(id, revision))?.data;
const untilPlayable = (id: number) =>
  eventually(`video ${id} playable`, async () => {
    const video = await getVideo(admin, id);
    return video.playable ? video : undefined;
  });

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, STORAGE_SWEEP_INTERVAL_SECONDS: "86400" });
  [admin, viewer] = await Promise.all([adminClient(api), loggedInClient(api)]);
  transcoder = new TestTranscoder(api);
  subscriber = new Redis(api.config.redisUrl);
  subscriber.on("message", (_channel, message) => announced.push(JSON.parse(message)));
  await subscriber.subscribe(videoChanges.nameOn(subscriber));
}, 60_000);
afterAll(async () => {
  subscriber?.disconnect();
  await transcoder?.close();
  await api?.stop();
});

describe("a playable report", () => {
  test("publishes the fast-start tree: processing, playable, listed, one rung, short cache; ready then retires it", async () => {
    const video = await createVideo(api, admin);
    expect((await jobOf(video.id))?.fastStart).toBe(true);
    publishFastTree(video.id, 1, false);
    await report.playable(video.id);
    const playable = await untilPlayable(video.id);
    expect(playable.processing_state).toBe("processing");
    expect(playable.playable_at).not.toBeNull();
    expect(playable.renditions.map((rendition) => rendition.name)).toEqual(["360p"]);
    await eventually("video.playable announced", async () =>
      announced.some((change) => change.type === "video.playable" && change.id === video.id),
    );
    const listed = (await (await viewer.get("/api/video/")).json()) as Array<{ id: number }>;
    expect(listed.map((entry) => entry.id)).toContain(video.id);
    const page = (await (await viewer.get("/api/videos/?limit=100")).json()) as {
      items: Array<{ id: number; playable: boolean; complete: boolean }>;
    };
    expect(page.items.find((entry) => entry.id === video.id)).toMatchObject({
      playable: true,
      complete: false,
    });

    const master = await viewer.get(`/api/video/${video.id}/master.m3u8`);
    expect(master.headers.get("cache-control")).toContain("max-age=1");
    expect(await master.text()).toContain("360p/index.m3u8?v=1-fast&token=");
    const media = await viewer.get(`/api/video/${video.id}/360p/index.m3u8`);
    expect(media.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(media.headers.get("cache-control")).toContain("max-age=1");
    const mediaText = await media.text();
    expect(mediaText).toContain("#EXT-X-PLAYLIST-TYPE:EVENT");
    const segmentUri = mediaText.split("\n").find((line) => line.startsWith("seg_"))!;
    expect(segmentUri).toContain("v=1-fast");
    const segment = await viewer.get(`/api/video/${video.id}/360p/${segmentUri}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get("cache-control")).toContain("immutable");

    // The same report again (a retry's) changes nothing.
    const before = announced.length;
    await report.playable(video.id);
    publishTree(api.config.mediaRoot, video.id, 1, fabricatedResult(120));
    await report.ready(video.id);
    await eventually("ready", async () => (await getVideo(admin, video.id)).processing_state === "ready");
    expect(announced.slice(before).filter((change) => change.type === "video.playable")).toEqual([]);
    // The ladder's master now (publishTree's stand-in text), under the plain revision.
    const ladder = await (await viewer.get(`/api/video/${video.id}/master.m3u8`)).text();
    expect(ladder).toStartWith("fake master.m3u8?v=1&token=");
    // The fast-start tree stays for the players holding it, under its own version.
    expect(existsSync(join(api.config.mediaRoot, fastStartPrefixFor(video.id, 1)))).toBe(true);
    const held = await viewer.get(`/api/video/${video.id}/360p/${segmentUri}`);
    expect(held.status).toBe(200);
    const [retired] = await api.database.db
      .select()
      .from(retiredRevisions)
      .where(eq(retiredRevisions.videoId, video.id));
    expect(retired?.prefix).toBe(fastStartPrefixFor(video.id, 1));
    expect(retired!.removeAfter!.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    // Late reports of the settled revision leave the published ladder alone.
    await report.playable(video.id);
    await Bun.sleep(300);
    expect((await getVideo(admin, video.id)).processing_state).toBe("ready");
  });

  test("a replacement over a ready video gets no fast start, and a playable report for it is ignored", async () => {
    const video = await createVideo(api, admin);
    publishTree(api.config.mediaRoot, video.id, 1);
    await report.ready(video.id);
    await eventually("ready", async () => (await getVideo(admin, video.id)).processing_state === "ready");
    expect((await replaceFile(api, admin, video.id, await tinyMp4Bytes())).status).toBe(202);
    expect((await jobOf(video.id, 2))?.fastStart).toBe(false);
    publishFastTree(video.id, 2, false);
    await report.playable(video.id, 2);
    await Bun.sleep(300);
    const [row] = await api.database.db.select().from(videos).where(eq(videos.id, video.id));
    expect(row?.publishedPrefix).toBe(`videos/${video.id}/r1`);
  });

  test("a replacement over a video that is only playable may fast start; the old fast-start tree is retired", async () => {
    const video = await createVideo(api, admin);
    publishFastTree(video.id, 1, true);
    await report.playable(video.id);
    await untilPlayable(video.id);
    expect((await replaceFile(api, admin, video.id, await tinyMp4Bytes())).status).toBe(202);
    expect((await jobOf(video.id, 2))?.fastStart).toBe(true);
    publishFastTree(video.id, 2, false);
    await report.playable(video.id, 2);
    await eventually("revision 2 published", async () => {
      const [row] = await api.database.db.select().from(videos).where(eq(videos.id, video.id));
      return row?.publishedPrefix === fastStartPrefixFor(video.id, 2);
    });
    const retired = await api.database.db
      .select()
      .from(retiredRevisions)
      .where(eq(retiredRevisions.videoId, video.id));
    expect(retired.map((row) => row.prefix)).toEqual([fastStartPrefixFor(video.id, 1)]);
  });

  test("the last report of a deleted video's job removes the fast-start tree it went on writing", async () => {
    const video = await createVideo(api, admin);
    publishFastTree(video.id, 1, false);
    await report.playable(video.id);
    await untilPlayable(video.id);
    expect((await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);
    // The running pass put one more segment after the delete, then found its source gone.
    const dir = publishFastTree(video.id, 1, false);
    await report.error(video.id);
    await eventually("the fast-start tree to go", async () => !existsSync(dir));
  });

  test("a file replaced mid-pass: revision 1's last report (its source is gone) ends its published playlist", async () => {
    const video = await createVideo(api, admin);
    const dir = publishFastTree(video.id, 1, false);
    await report.playable(video.id);
    await untilPlayable(video.id);
    const before = readFileSync(join(dir, "360p", "index.m3u8"), "utf8");
    expect((await replaceFile(api, admin, video.id, await tinyMp4Bytes())).status).toBe(202);
    await report.error(video.id, 1);
    // Still what viewers are served (until revision 2 is playable), now a whole VOD of what it listed.
    const served = await eventually("revision 1's playlist to end", async () => {
      const text = await (await viewer.get(`/api/video/${video.id}/360p/index.m3u8`)).text();
      return text.includes("#EXT-X-ENDLIST") ? text : undefined;
    });
    expect(served.split("\n").filter((line) => line.startsWith("seg_"))).toHaveLength(
      listedSegments(before).segments.length,
    );
    expect(readFileSync(join(dir, "360p", "index.m3u8"), "utf8")).toBe(`${before}#EXT-X-ENDLIST\n`);
    const [row] = await api.database.db.select().from(videos).where(eq(videos.id, video.id));
    expect(row?.publishedPrefix).toBe(fastStartPrefixFor(video.id, 1));
  });

  test("a pass that fails for good: the video goes to error and stays watchable to the end of what was published", async () => {
    const video = await createVideo(api, admin);
    const dir = publishFastTree(video.id, 1, false);
    await report.playable(video.id);
    await untilPlayable(video.id);
    await transcoder.reporter.report({
      type: "error",
      videoId: video.id,
      revision: 1,
      at: new Date().toISOString(),
      message: "The video could not be decoded past 00:01:00.",
    });
    await eventually("error", async () => (await getVideo(admin, video.id)).processing_state === "error");
    const ended = listedSegments(readFileSync(join(dir, "360p", "index.m3u8"), "utf8"));
    expect(ended).toEqual({ segments: [{ uri: "seg_00000.ts", durationSeconds: 2 }], ended: true });
    const served = await (await viewer.get(`/api/video/${video.id}/360p/index.m3u8`)).text();
    expect(served).toContain("#EXT-X-ENDLIST");
    // A late duplicate of the report leaves the ended playlist as it is.
    await report.error(video.id, 1);
    await Bun.sleep(300);
    expect(listedSegments(readFileSync(join(dir, "360p", "index.m3u8"), "utf8"))).toEqual(ended);
  });

  test("an error for a replaced revision removes its unpublished fast-start tree; the current one's stays", async () => {
    const video = await createVideo(api, admin);
    publishTree(api.config.mediaRoot, video.id, 1);
    await report.ready(video.id);
    await eventually("ready", async () => (await getVideo(admin, video.id)).processing_state === "ready");
    await replaceFile(api, admin, video.id, await tinyMp4Bytes());
    await replaceFile(api, admin, video.id, await tinyMp4Bytes());
    const stale = publishFastTree(video.id, 2, false);
    const current = publishFastTree(video.id, 3, false);
    await report.error(video.id, 2);
    await eventually("the stale tree to go", async () => !existsSync(stale));
    await report.error(video.id, 3);
    await eventually(
      "revision 3 in error",
      async () => (await getVideo(admin, video.id)).processing_state === "error",
    );
    expect(existsSync(current)).toBe(true);
  });
});
