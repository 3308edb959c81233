// The farm end to end: the real api, Redis, PostgreSQL and `bun transcoder/main.ts` processes. A worker's
// /health, /metrics and shutdown hand-back: tests/transcoder/service.test.ts (the same worker, in process).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import HLS from "hls-parser";
import { ADMIN_ENV, adminClient, getVideo, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-farm-"));

/** A 1080p-class source with motion and noise (the farm tests need jobs that take a few seconds). */
const makeSource = (name: string, seconds: number, width = 1280, height = 720) =>
  farmSource(scratch, name, seconds, width, height);

const stagingEntries = (api: TestApi) => {
  const dir = join(api.config.mediaRoot, ".staging");
  return existsSync(dir) ? readdirSync(dir) : [];
};

let api: TestApi;
let admin: Client;
const transcoders: TranscoderProcess[] = [];
beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, TRANSCODE_ATTEMPTS: "3" });
  admin = await adminClient(api);
});
afterAll(async () => {
  await Promise.all(transcoders.map((t) => t.stop().catch(() => 0)));
  await api.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("one transcoder", () => {
  test("upload → ready: master playlist, every rung and segment, posters; then replace and delete clean up", async () => {
    const worker = startTranscoder(api, "solo");
    transcoders.push(worker);
    const created = await uploadFile(api, admin, await makeSource("solo.mp4", 4));
    expect(created.processing_state).toBe("pending");

    const ready = await untilState(admin, created.id, "ready");
    expect(ready.renditions.map((r) => r.name)).toEqual(["360p", "480p", "720p"]);
    expect(ready.duration_seconds).toBeCloseTo(4, 0);
    expect(ready.thumbnail_url).toBe(
      `${api.config.publicUrl}/api/video/${created.id}/thumbnails/poster-640.jpg`,
    );

    const tree = join(api.config.mediaRoot, "videos", String(created.id), "r1");
    const master = HLS.parse(readFileSync(join(tree, "master.m3u8"), "utf8"));
    expect(master.isMasterPlaylist).toBe(true);
    if (!master.isMasterPlaylist) return;
    expect(master.variants.map((v) => v.uri)).toEqual([
      "360p/index.m3u8",
      "480p/index.m3u8",
      "720p/index.m3u8",
    ]);
    for (const variant of master.variants) {
      const media = HLS.parse(readFileSync(join(tree, variant.uri), "utf8"));
      if (media.isMasterPlaylist) throw new Error("expected a media playlist");
      expect(media.segments.length).toBeGreaterThan(0);
      for (const segment of media.segments)
        expect(existsSync(join(tree, variant.uri, "..", segment.uri))).toBe(true);
    }
    for (const width of [320, 640, 1280]) {
      expect(existsSync(join(tree, "thumbnails", `poster-${width}.jpg`))).toBe(true);
      expect(existsSync(join(tree, "thumbnails", `poster-${width}.webp`))).toBe(true);
    }
    expect(stagingEntries(api)).toEqual([]);

    // A new file: revision 2 is transcoded while r1 stays published, then r1 is removed.
    const replaced = await uploadFile(api, admin, await makeSource("solo-v2.mp4", 2, 640, 360), created.id);
    expect(replaced.revision).toBe(2);
    const second = await untilState(admin, created.id, "ready");
    expect(second.renditions.map((r) => r.name)).toEqual(["360p"]);
    await eventually("r1 removed", async () => !existsSync(tree));
    expect(existsSync(join(api.config.mediaRoot, "videos", String(created.id), "r2", "master.m3u8"))).toBe(
      true,
    );

    const deleted = await sendAs(api, admin, "DELETE", `/api/admin/videos/${created.id}`);
    expect(deleted.status).toBe(204);
    expect(existsSync(join(api.config.mediaRoot, "videos", String(created.id)))).toBe(false);
    expect(readdirSync(join(api.config.mediaRoot, "sources"))).toEqual([]);
    await worker.stop();
    transcoders.splice(transcoders.indexOf(worker), 1);
  }, 180_000);

  test("a truncated upload ends in `error` with a readable message and is not retried", async () => {
    const worker = startTranscoder(api, "strict");
    transcoders.push(worker);
    const whole = readFileSync(await makeSource("whole.mp4", 3, 320, 180));
    const truncated = join(scratch, "truncated.mp4");
    await Bun.write(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const created = await uploadFile(api, admin, truncated);
    const failed = await untilState(admin, created.id, "error");
    expect(failed.processing_error).toMatch(/truncated|incomplete/i);
    expect(failed.processing_error).not.toMatch(/ffmpeg|stderr|Error:|at \//);
    const job = await api.runtime.transcodeQueue.job(created.id, 1);
    expect(job?.attemptsMade).toBe(1);
    expect(stagingEntries(api)).toEqual([]);
    await worker.stop();
    transcoders.splice(transcoders.indexOf(worker), 1);
  }, 120_000);
});

describe("faults", () => {
  test("kill -9 of the transcoder mid-job: a second replica takes the job over, no leftovers", async () => {
    const first = startTranscoder(api, "doomed");
    transcoders.push(first);
    const created = await uploadFile(api, admin, await makeSource("long.mp4", 16));
    // A transcoder process starting, claiming and probing: seconds on a loaded machine, not 5.
    await eventually(
      "encoding under way on the first transcoder",
      async () => (await getVideo(admin, created.id)).progress.stage === "encoding",
      60_000,
    );
    const second = startTranscoder(api, "survivor");
    transcoders.push(second);
    await first.kill9();
    transcoders.splice(transcoders.indexOf(first), 1);

    const ready = await untilState(admin, created.id, "ready", 150_000);
    expect(ready.renditions.map((r) => r.name)).toEqual(["360p", "480p", "720p"]);
    expect(second.logs()).toContain(`"job_id":"video-${created.id}-r1"`);
    // The killed attempt's staging is not the survivor's to delete when it takes over (that attempt
    // might still be running somewhere); the survivor's periodic sweep takes it once its lock is gone.
    await eventually(
      "the killed attempt's staging to be swept",
      async () => stagingEntries(api).length === 0,
    );
    // The killed worker's FFmpeg died with it (PR_SET_PDEATHSIG), not left running.
    const orphans = Bun.spawnSync(["pgrep", "-f", `${api.config.mediaRoot}/.staging`])
      .stdout.toString()
      .trim();
    expect(orphans).toBe("");
    expect(await second.stop()).toBe(0);
    transcoders.splice(transcoders.indexOf(second), 1);
  }, 240_000);

  test("the api restarts during a job: the state change still arrives", async () => {
    // `api` stays up as the owner of the database; the consumer is a second replica we stop and restart.
    const owner = await startTestApi(ADMIN_ENV, { consumeEvents: false });
    const consumer = await startTestApi({}, { shareWith: owner });
    const ownerAdmin = await adminClient(owner);
    const worker = startTranscoder(owner, "steady");
    try {
      const created = await uploadFile(owner, ownerAdmin, await makeSource("restart.mp4", 6, 640, 360));
      await untilState(ownerAdmin, created.id, "processing");
      await consumer.stop();
      const job = await owner.runtime.transcodeQueue.job(created.id, 1);
      // The whole 6 s transcode happens in this wait: eventually's default 5 s was too short once
      // in a loaded parallel run.
      await eventually(
        "job completed while no api consumed events",
        async () => (await job?.getState()) === "completed",
        90_000,
      );
      expect((await getVideo(ownerAdmin, created.id)).processing_state).toBe("processing");

      const restarted = await startTestApi({}, { shareWith: owner });
      try {
        await untilState(ownerAdmin, created.id, "ready", 30_000);
      } finally {
        await restarted.stop();
      }
    } finally {
      await worker.stop();
      await owner.stop();
    }
  }, 180_000);
});
