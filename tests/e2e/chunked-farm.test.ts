// One film across two real transcoder processes (issue 14): with CHUNK_MIN_SECONDS lowered, a 24 s
// upload is cut into six chunks plus its sound, both processes encode pieces of it, and the video ends
// ready with a whole ladder and no scratch left; a delete while its pieces run stops every one of them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { PIECE_JOB_NAME } from "../../contract/transcode-pieces.ts";
import { ADMIN_ENV, adminClient, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const workDir = mkdtempSync(join(tmpdir(), "vf-chunked-farm-"));
const CHUNKED_ENV = { CHUNKING: "on", CHUNK_MIN_SECONDS: "10", CHUNK_SEGMENTS: "2", FAST_START: "off" };
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
  }, 240_000);
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
