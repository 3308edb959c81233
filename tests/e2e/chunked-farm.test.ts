// One film across two real transcoder processes (issue 14): with CHUNK_MIN_SECONDS lowered, a 24 s
// upload is cut into six chunks plus its sound, both processes encode pieces of it, and the video ends
// ready with a whole ladder and no scratch left; a delete while its pieces run stops every one of them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import pino from "pino";
import { progressChannel, progressKey, type TranscodeProgress } from "../../contract/progress.ts";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { PIECE_JOB_NAME, type TranscodePieceJob } from "../../contract/transcode-pieces.ts";
import { Heartbeat } from "../../transcoder/heartbeat.ts";
import { ADMIN_ENV, adminClient, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { SAMPLE_RUNG } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const workDir = mkdtempSync(join(tmpdir(), "vf-chunked-farm-"));
// CHUNKING left at its default (auto; these replicas have no NVENC): these films are cut because the
// default says so. A fast-start pass only for films of 62 s and more (the one test that wants it).
const CHUNKED_ENV = {
  CHUNK_MIN_SECONDS: "10",
  CHUNK_SEGMENTS: "2",
  FAST_START: "on",
  FAST_START_MIN_SECONDS: "62",
};
let api: TestApi;
let admin: Client;
let connection: Redis;
let queue: Queue;
const workers: TranscoderProcess[] = [];

const piecesEncodedBy = (worker: TranscoderProcess, videoId: number) =>
  worker
    .logs()
    .split("\n")
    .filter((line) => line.includes('"piece encoded"') && line.includes(`"video_id":${videoId}`)).length;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV });
  admin = await adminClient(api);
  connection = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
  queue = new Queue(TRANSCODE_QUEUE, { connection });
  for (const name of ["chunk-a", "chunk-b"]) workers.push(startTranscoder(api, name, CHUNKED_ENV));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await queue?.close();
  connection?.disconnect();
  await api?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("a film on a farm of two", () => {
  test("both transcoders encode its pieces and the video is ready with its whole ladder", async () => {
    const source = await farmSource(workDir, "film.mp4", 24, 640, 360);
    const video = await uploadFile(api, admin, source);
    const ready = await untilState(admin, video.id, "ready", 180_000);
    for (const worker of workers) expect(piecesEncodedBy(worker, video.id)).toBeGreaterThanOrEqual(1);
    expect(workers.reduce((sum, worker) => sum + piecesEncodedBy(worker, video.id), 0)).toBe(7);
    // Planned on a CPU replica: the whole film with libx264 (transcoder/chunks/film-encoder.ts).
    const planned = workers
      .flatMap((worker) => worker.logs().split("\n"))
      .filter(
        (line) =>
          line.includes('"film cut into pieces for the farm"') && line.includes(`"video_id":${video.id}`),
      );
    expect(planned).toHaveLength(1);
    expect(planned[0]).toContain('"encoder":"libx264"');

    const tree = join(api.config.mediaRoot, "videos", String(video.id), `r${ready.revision}`);
    const master = readFileSync(join(tree, "master.m3u8"), "utf8");
    for (const rung of ["360p"]) {
      expect(master).toContain(`${rung}/index.m3u8`);
      const playlist = readFileSync(join(tree, rung, "index.m3u8"), "utf8");
      expect(playlist).not.toContain("DISCONTINUITY");
      expect(playlist.match(/^#EXTINF:2\.0+,$/gm)).toHaveLength(12);
    }
    const flows = join(api.config.mediaRoot, "scratch", "flows");
    expect(existsSync(flows) ? readdirSync(flows) : []).toEqual([]);
    // The job history: one attempt, ready, by the replica that planned it. The film's job ran twice
    // (planning, then the stitch once its pieces were done), and the stitch carries on the planning's
    // attempt instead of opening its own and leaving the first "interrupted".
    type Attempt = { attempt: number; worker: string; outcome: string | null };
    const history = await eventually("the film's attempt recorded as ready", async () => {
      const attempts = (await (
        await admin.get(`/api/admin/videos/${video.id}/attempts`)
      ).json()) as Attempt[];
      return attempts.at(0)?.outcome === "ready" ? attempts : null;
    });
    const planner = workers.find((worker) => worker.logs().includes('"film cut into pieces for the farm"'))!;
    expect(history.map(({ attempt, worker, outcome }) => ({ attempt, worker, outcome }))).toEqual([
      { attempt: 1, worker: planner.name, outcome: "ready" },
    ]);
  }, 240_000);
});

describe("a film with a fast-start pass on the farm", () => {
  test("its progress never goes back: the pass's ticks and the pieces' tell one percent and both passes", async () => {
    const source = await farmSource(workDir, "fast-film.mp4", 66, 320, 180);
    const video = await uploadFile(api, admin, source);
    const ticks: TranscodeProgress[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await connection.get(progressKey(video.id));
        const tick = text === null ? null : progressChannel.decode(text);
        if (tick?.ok && tick.value.revision === 1) {
          const last = ticks.at(-1);
          if (!last || last.percent !== tick.value.percent || last.stage !== tick.value.stage)
            ticks.push(tick.value);
        }
        await Bun.sleep(25);
      }
    })();
    try {
      await untilState(admin, video.id, "ready", 240_000);
    } finally {
      sampling = false;
      await sampler;
    }
    const fastStarted = workers.some((worker) =>
      worker
        .logs()
        .split("\n")
        .some((line) => line.includes(`"video_id":${video.id}`) && line.includes("fast-start")),
    );
    expect(fastStarted).toBe(true);
    // Before the fix the pass's ticks (2–15 %) and the pieces' (2–90 %) took turns in the key.
    const percents = ticks.map((tick) => tick.percent);
    for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThanOrEqual(percents[i - 1]!);
    // While both ran, ticks told both passes: the pass's own percent beside the ladder's.
    expect(ticks.some((tick) => (tick.passes?.fastStart?.percent ?? 0) > 0 && tick.passes?.ladder)).toBe(
      true,
    );
    expect(ticks.some((tick) => tick.stage === "encoding")).toBe(true);
  }, 300_000);
});

describe("a piece of a film planned for NVENC", () => {
  test("is handed back by these CPU transcoders while a GPU one is online, and fails with a reason once none is", async () => {
    const gpu = new Heartbeat({
      redis: connection,
      name: `gpu-of-chunked-farm-${process.pid}`,
      hwaccel: "nvenc",
      concurrency: 1,
      jobs: () => [],
      log: pino({ level: "silent" }),
    });
    gpu.start();
    const piece: TranscodePieceJob = {
      videoId: 1,
      revision: 1,
      sourceKey: "uploads/nvenc-film",
      flow: "fnvenc",
      scratchPrefix: "scratch/flows/nvenc/fnvenc",
      piece: { kind: "chunk", index: 0, startSeconds: 0, endSeconds: 4 },
      ladder: [SAMPLE_RUNG],
      segmentSeconds: 2,
      preset: "ultrafast",
      encoder: "h264_nvenc",
      source: {
        frameRate: 25,
        variableFrameRate: false,
        interlaced: false,
        rotation: 0,
        videoCodec: "h264",
        pixelFormat: "yuv420p",
        bitDepth: 8,
        audio: null,
        demuxer: "mov",
        durationSeconds: 8,
        videoDurationSeconds: 8,
      },
    };
    const handedBack = (worker: TranscoderProcess) => worker.logs().includes('"piece handed back');
    try {
      await queue.add(PIECE_JOB_NAME, piece, { jobId: `nvenc-piece-${process.pid}`, priority: 1000 });
      await eventually("the piece handed back", async () => workers.some(handedBack) || null, 60_000, 100);
      expect(await queue.getJobState(`nvenc-piece-${process.pid}`)).toMatch(/^(delayed|prioritized|active)$/);
    } finally {
      await gpu.stop();
    }
    await eventually(
      "the piece failed",
      async () => (await queue.getJobState(`nvenc-piece-${process.pid}`)) === "failed" || null,
      60_000,
      200,
    );
    const failed = await queue.getJob(`nvenc-piece-${process.pid}`);
    expect(failed?.failedReason).toContain(
      "the film is encoded with h264_nvenc and no transcoder that runs it",
    );
    // Never started: no x264 chunk in an NVENC film.
    const started = (worker: TranscoderProcess) =>
      worker
        .logs()
        .split("\n")
        .some((line) => line.includes('"piece started"') && line.includes(`nvenc-piece-${process.pid}`));
    expect(workers.some(started)).toBe(false);
    await failed?.remove();
  }, 150_000);
});

describe("a film deleted while its pieces run", () => {
  test("every piece stops or is removed, and nothing of the flow is left", async () => {
    const source = await farmSource(workDir, "long.mp4", 60, 1280, 720);
    const video = await uploadFile(api, admin, source);
    await eventually(
      "a piece of the film to be encoded",
      async () => workers.some((worker) => piecesEncodedBy(worker, video.id) > 0),
      180_000,
      100,
    );
    const deleted = await sendAs(api, admin, "DELETE", `/api/admin/videos/${video.id}`);
    expect(deleted.status).toBe(204);
    await eventually(
      "no piece of the film waiting or running",
      async () => {
        const jobs = await queue.getJobs(["waiting", "prioritized", "active", "delayed"]);
        return jobs.every((job) => job.name !== PIECE_JOB_NAME || job.data.videoId !== video.id);
      },
      60_000,
      200,
    );
    const encoded = workers.reduce((sum, worker) => sum + piecesEncodedBy(worker, video.id), 0);
    // 15 chunks and the sound: the delete came long before the last.
    expect(encoded).toBeLessThan(16);
    const flows = join(api.config.mediaRoot, "scratch", "flows");
    await eventually(
      "the flow's scratch to go",
      async () => !existsSync(flows) || readdirSync(flows).length === 0,
      30_000,
    );
  }, 300_000);
});
