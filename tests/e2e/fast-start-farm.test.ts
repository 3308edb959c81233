// Fast start end to end on the local driver with real transcoder processes: a long upload is playable
// (listed, `processing`, one rung, an EVENT playlist with a short cache) long before it is ready, the
// switch to the ladder keeps the fast-start files for the players holding them, and kill -9, replace
// and delete during either pass leave no playlist pointing at a missing segment and nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { retiredRevisions, videos } from "../../db/schema/index.ts";
import { generateVideo } from "../../dev/media.ts";
import { listedSegments } from "../../transcoder/fast-start/playlist.ts";
import { ADMIN_ENV, adminClient, getVideo, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { startTranscoder, type TranscoderProcess, untilState, uploadFile } from "../support/farm.ts";
import {
  FAST_START_ENV,
  fastTreeDir,
  logLines,
  untilPlayable,
  viewPlaylists,
} from "../support/fast-start.ts";
import { filesUnder } from "../support/media-root.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestSocket } from "../support/test-socket.ts";

const workDir = mkdtempSync(join(tmpdir(), "vf-fast-start-"));
let api: TestApi;
let admin: Client;
let viewer: Client;
const workers: TranscoderProcess[] = [];
const sources: Record<string, string> = {};

const startWorker = (name: string, env: Record<string, string> = {}) => {
  const worker = startTranscoder(api, name, { ...FAST_START_ENV, ...env });
  workers.push(worker);
  return worker;
};
/** A source with motion and noise (the ladder of 20 s takes a few seconds here). */
const source = (name: string, seconds: number) =>
  generateVideo(join(workDir, `${name}.mp4`), { seconds, width: 854, height: 480, fps: 30, audio: "stereo" });
const fastPlaylistOf = (id: number, revision: number) =>
  readFileSync(join(fastTreeDir(api, id, revision), "360p", "index.m3u8"), "utf8");
const videoDir = (id: number) => join(api.config.mediaRoot, "videos", String(id));
const jobEnded = (worker: TranscoderProcess, id: number) =>
  logLines(worker.logs()).some(
    (line) =>
      line.video_id === id &&
      [
        "job ready",
        "job refused: bad input",
        "job attempt failed",
        "job dropped: its source file is gone",
      ].includes(String(line.msg)),
  );
const untilEncodingLadder = (id: number) =>
  eventually(
    `video ${id} encoding its ladder`,
    async () => (await getVideo(admin, id)).progress.stage === "encoding",
    90_000,
    50,
  );

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, STORAGE_SWEEP_INTERVAL_SECONDS: "86400" });
  [admin, viewer] = await Promise.all([adminClient(api), loggedInClient(api)]);
  const made = await Promise.all([
    source("long", 20),
    source("other", 20),
    source("longer", 60),
    generateVideo(join(workDir, "short.mp4"), {
      seconds: 3,
      width: 640,
      height: 360,
      fps: 30,
      audio: "stereo",
    }),
  ]);
  [sources.long, sources.other, sources.longer, sources.short] = made;
}, 120_000);

afterAll(async () => {
  TestSocket.closeAll();
  await Promise.all(workers.map((worker) => worker.kill9()));
  await api?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("one transcoder, fast start on", () => {
  let worker: TranscoderProcess;
  let firstId: number;
  beforeAll(() => {
    worker = startWorker("fast-main");
  });

  test("playable while processing: listed, one rung, EVENT playlist with max-age=1; then the ladder replaces it and the fast-start files stay", async () => {
    const socket = await TestSocket.open(api, viewer);
    const adminSocket = await TestSocket.open(api, admin);
    adminSocket.send({ type: "subscribe", all_uploads: true });
    const video = await uploadFile(api, admin, sources.long!);
    firstId = video.id;
    const playable = await untilPlayable(admin, video.id);
    expect(playable.playable_at).not.toBeNull();
    expect(playable.renditions.map((rendition) => rendition.name)).toEqual(["360p"]);
    await socket.next((message) => message.type === "video.playable" && message.id === video.id, 10_000);

    // The Videoflix list shows it from now on.
    const list = (await (await viewer.get("/api/video/")).json()) as Array<{ id: number }>;
    expect(list.map((entry) => entry.id)).toContain(video.id);

    const fast = await viewPlaylists(viewer, video.id);
    expect(fast.variants).toHaveLength(1);
    expect(fast.variants[0]).toMatch(/^360p\/index\.m3u8\?v=1-fast&token=/);
    expect(fast.master.headers.get("cache-control")).toContain("max-age=1");
    expect(fast.media.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(fast.media.headers.get("cache-control")).toContain("max-age=1");
    expect(fast.mediaText).toContain("#EXT-X-PLAYLIST-TYPE:EVENT");
    expect(fast.mediaText).toContain("#EXT-X-START:TIME-OFFSET=0");
    const segment = await viewer.get(`/api/video/${video.id}/360p/${fast.segments[0]}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get("content-type")).toBe("video/mp2t");
    expect(segment.headers.get("cache-control")).toContain("immutable");

    const ready = await untilState(admin, video.id, "ready");
    expect(ready.renditions.map((rendition) => rendition.name)).toEqual(["360p", "480p"]);
    const full = await viewPlaylists(viewer, video.id);
    expect(full.variants).toHaveLength(2);
    expect(full.variants[0]).toMatch(/\?v=1&token=/);
    expect(full.mediaText).not.toContain("EVENT");

    // A player holding the fast-start playlist keeps getting it, and its segments, after the switch.
    const held = await viewer.get(`/api/video/${video.id}/${fast.variants[0]}`);
    const heldText = await held.text();
    expect(held.status).toBe(200);
    expect(heldText).toContain("#EXT-X-ENDLIST");
    const last = heldText
      .split("\n")
      .filter((line) => line.startsWith("seg_"))
      .at(-1)!;
    expect(last).toMatch(/\?v=1-fast&token=/);
    const lastSegment = await viewer.get(`/api/video/${video.id}/360p/${last}`);
    expect(lastSegment.status).toBe(200);
    const [retired] = await api.database.db
      .select()
      .from(retiredRevisions)
      .where(eq(retiredRevisions.videoId, video.id));
    expect(retired?.prefix).toBe(fastStartPrefixFor(video.id, 1));
    expect(retired!.removeAfter!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    // Swept only when its time has come.
    await api.runtime.sweepStorage();
    expect(existsSync(fastTreeDir(api, video.id, 1))).toBe(true);
    await api.database.db
      .update(retiredRevisions)
      .set({ removeAfter: new Date(Date.now() - 1000) })
      .where(eq(retiredRevisions.videoId, video.id));
    await api.runtime.sweepStorage();
    expect(existsSync(fastTreeDir(api, video.id, 1))).toBe(false);

    // Both passes reported their own percent and ETA.
    const ticks = adminSocket.messages.filter((m) => m.type === "video.progress" && m.id === video.id);
    expect(ticks.some((m) => m.stage === "fast-start" && m.passes?.fast_start)).toBe(true);
    expect(ticks.some((m) => m.stage === "encoding" && m.passes?.fast_start?.percent === 100)).toBe(true);
  }, 180_000);

  test("a source shorter than FAST_START_MIN_SECONDS gets no pass: playable only when ready", async () => {
    const video = await uploadFile(api, admin, sources.short!);
    const ready = await untilState(admin, video.id, "ready");
    expect(ready.playable_at).not.toBeNull();
    expect(existsSync(fastTreeDir(api, video.id, 1))).toBe(false);
    const decision = logLines(worker.logs()).find(
      (line) => line.video_id === video.id && line.fast_start === false,
    );
    expect(String(decision?.reason)).toContain("FAST_START_MIN_SECONDS");
  }, 120_000);

  test("a replacement over a ready video never uses fast start: the old ladder stays published until the new one is ready", async () => {
    const replaced = await uploadFile(api, admin, sources.other!, firstId);
    expect(replaced.revision).toBe(2);
    for (;;) {
      const current = await getVideo(admin, firstId);
      expect(existsSync(fastTreeDir(api, firstId, 2))).toBe(false);
      let served: Awaited<ReturnType<typeof viewPlaylists>>;
      try {
        served = await viewPlaylists(viewer, firstId);
      } catch (error) {
        // Revision 2 went live between the master and its media playlist: revision 1's versioned
        // URLs are gone from then on. Asked again, as a player that reloads would (a parallel CI
        // run hit that moment once).
        const now = await getVideo(admin, firstId);
        if (now.processing_state === "ready" && now.revision === 2) continue;
        throw error;
      }
      if (current.processing_state === "ready" && current.revision === 2) {
        expect(served.variants[0]).toMatch(/\?v=2&token=/);
        break;
      }
      expect(current.processing_state).not.toBe("error");
      expect(served.variants).toHaveLength(2);
      expect(served.variants[0]).toMatch(/\?v=1&token=/);
      await Bun.sleep(100);
    }
    const decision = logLines(worker.logs()).find(
      (line) => line.video_id === firstId && line.revision === 2 && line.fast_start === false,
    );
    expect(String(decision?.reason)).toContain("does not allow");
  }, 180_000);

  test("delete during the fast-start pass and during the ladder: nothing of the video stays", async () => {
    for (const during of ["fast-start", "ladder"] as const) {
      // 60 s: the pass is still running when the delete comes.
      const video = await uploadFile(api, admin, during === "fast-start" ? sources.longer! : sources.long!);
      await untilPlayable(admin, video.id);
      if (during === "ladder") await untilEncodingLadder(video.id);
      else expect(listedSegments(fastPlaylistOf(video.id, 1)).ended).toBe(false);
      const deleted = await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`);
      expect(deleted.status).toBe(204);
      await eventually(`the job of video ${video.id} to end`, async () => jobEnded(worker, video.id), 90_000);
      // The pass stops at its next segment: its source is gone.
      if (during === "fast-start") {
        const said = logLines(worker.logs())
          .filter((line) => line.video_id === video.id)
          .map((line) => line.msg);
        expect(said).toContain("job refused: bad input");
      }
      await eventually(
        `video ${video.id}'s media to be gone`,
        async () => filesUnder(videoDir(video.id)).length === 0,
        10_000,
      );
      expect((await viewer.get(`/api/video/${video.id}/master.m3u8`)).status).toBe(404);
    }
  }, 240_000);

  test("replace during the fast-start pass and during the ladder: the new revision is published, the old one's trees go", async () => {
    for (const during of ["fast-start", "ladder"] as const) {
      const video = await uploadFile(api, admin, during === "fast-start" ? sources.longer! : sources.long!);
      await untilPlayable(admin, video.id);
      if (during === "ladder") await untilEncodingLadder(video.id);
      else expect(listedSegments(fastPlaylistOf(video.id, 1)).ended).toBe(false);
      await uploadFile(api, admin, sources.other!, video.id);
      // The replacement may use fast start (no ladder was published): viewers keep a playable video.
      const ready = await eventually(
        `revision 2 of video ${video.id} ready`,
        async () => {
          const current = (await getVideo(admin, video.id)) as { revision: number; processing_state: string };
          expect(current.processing_state).not.toBe("error");
          const served = await viewer.get(`/api/video/${video.id}/master.m3u8`);
          expect(served.status).toBe(200);
          return current.revision === 2 && current.processing_state === "ready" ? current : undefined;
        },
        120_000,
      );
      expect(ready.revision).toBe(2);
      await eventually(
        `revision 1's ladder of video ${video.id} to go`,
        async () => jobEnded(worker, video.id),
        60_000,
      );
      expect(existsSync(join(videoDir(video.id), "r1"))).toBe(false);
      // Revision 1's fast-start tree: gone, or retired for the viewers who started on it.
      const retired = await api.database.db
        .select({ prefix: retiredRevisions.prefix })
        .from(retiredRevisions)
        .where(eq(retiredRevisions.videoId, video.id));
      if (existsSync(fastTreeDir(api, video.id, 1))) {
        expect(retired.map((row) => row.prefix)).toContain(fastStartPrefixFor(video.id, 1));
      }
      // Published when the file was replaced mid-pass: kept for its viewers, and ended (the old job's
      // last word was its source gone), so a player on it plays what was published to its end.
      if (during === "fast-start") {
        expect(retired.map((row) => row.prefix)).toContain(fastStartPrefixFor(video.id, 1));
        await eventually(
          `revision 1's fast-start playlist of video ${video.id} to end`,
          async () => listedSegments(fastPlaylistOf(video.id, 1)).ended,
          10_000,
        );
      }
      const [row] = await api.database.db.select().from(videos).where(eq(videos.id, video.id));
      expect(row?.publishedPrefix).toBe(`videos/${video.id}/r2`);
    }
  }, 360_000);
});

describe("kill -9 of a transcoder", () => {
  // Only the workers each test starts: the one above would take the killed worker's job over.
  beforeAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill9()));
  });

  // The retry lands on a worker that would not start a pass (FAST_START=off; a fast GPU is the same):
  // it continues the playlist anyway, or the viewers on it would never get its end.
  test("during the fast-start pass: a FAST_START=off worker continues the same playlist, ends it, and the video gets ready", async () => {
    const first = startWorker("fast-kill-a");
    const video = await uploadFile(api, admin, sources.longer!);
    await untilPlayable(admin, video.id);
    await first.kill9();
    const before = listedSegments(fastPlaylistOf(video.id, 1));
    expect(before.ended).toBe(false);
    // Every segment listed is there in full while no transcoder runs, and the video stays playable.
    for (const segment of before.segments) {
      expect(existsSync(join(fastTreeDir(api, video.id, 1), "360p", segment.uri))).toBe(true);
    }
    expect((await viewer.get(`/api/video/${video.id}/master.m3u8`)).status).toBe(200);
    const second = startWorker("fast-kill-b", { FAST_START: "off" });
    await untilState(admin, video.id, "ready", 180_000);
    // The retired playlist, as the players that started on it reload it: ended, every segment kept.
    const after = listedSegments(fastPlaylistOf(video.id, 1));
    expect(after.ended).toBe(true);
    expect(after.segments.slice(0, before.segments.length)).toEqual(before.segments);
    const resumed = logLines(second.logs()).find((line) => line.msg === "fast-start pass published");
    expect(Number(resumed?.resumed)).toBe(before.segments.length);
    const decision = logLines(second.logs()).find((line) => line.fast_start === true);
    expect(String(decision?.reason)).toContain("unended");
    await second.stop();
  }, 240_000);

  test("during the ladder: the fast-start rendition stays playable; the next attempt does not redo it", async () => {
    const first = startWorker("ladder-kill-a");
    const video = await uploadFile(api, admin, sources.long!);
    await untilPlayable(admin, video.id);
    await untilEncodingLadder(video.id);
    await first.kill9();
    const served = await viewPlaylists(viewer, video.id);
    expect(served.variants[0]).toMatch(/\?v=1-fast&token=/);
    expect(served.mediaText).toContain("#EXT-X-ENDLIST");
    const second = startWorker("ladder-kill-b");
    await untilState(admin, video.id, "ready", 180_000);
    expect(
      logLines(second.logs()).some(
        (line) => line.msg === "fast-start pass already published by an earlier attempt",
      ),
    ).toBe(true);
    await second.stop();
  }, 240_000);
});
