// A film's flow where runs of the film's job are interrupted (review of issue 14's flows), on real Redis,
// FFmpeg and the local media storage, two replicas in this process: a piece that fails for good fails
// the film before its siblings are encoded; a job handed back after planning keeps its pieces running;
// a job handed back after its stitch collects the same flow again; a job added again under the same id
// plans a flow of its own, and the pieces' jobs do not stay; the run that stitches uses the flow's
// recorded ladder and segment length, whatever its replica's own settings.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import pino from "pino";
import { generateVideo } from "../../dev/media.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { NVENC_PIECE_HAND_BACK_MS } from "../../transcoder/chunks/film-encoder.ts";
import { flowOf, flowScratchOf } from "../../transcoder/chunks/film-flow.ts";
import { Heartbeat } from "../../transcoder/heartbeat.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { eventually } from "../support/eventually.ts";
import {
  type FilmData,
  FLOW_PRESET,
  FLOW_SEGMENT_SECONDS,
  type FlowReplica,
  type PieceEnd,
  startFlowReplica,
} from "../support/flow-replica.ts";

let dir: string;
let queue: Queue;
let redisUrl: string;
let connection: Redis;
let film: string;
const replicas: FlowReplica[] = [];
const pieces: PieceEnd[] = [];
const ofFilm = (id: string) => pieces.filter((piece) => piece.id.startsWith(`${id}-`));

async function putSource(name: string, path: string): Promise<string> {
  const key = `uploads/${name}`;
  await mkdir(join(dir, "media", "uploads"), { recursive: true });
  await copyFile(path, join(dir, "media", key));
  return key;
}

const settled = (id: string) =>
  eventually(
    `job ${id} to settle`,
    async () => {
      const state = await queue.getJobState(id);
      return state === "completed" || state === "failed" ? state : null;
    },
    120_000,
  );

const noPieceLeft = (id: string) =>
  eventually(
    `no piece of ${id} left to run`,
    async () => {
      const left = await queue.getJobs(["waiting", "prioritized", "active", "delayed"]);
      return left.every((job) => !job.id?.startsWith(`${id}-`));
    },
    30_000,
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chunk-flow-faults-"));
  redisUrl = await testRedisUrl();
  connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queue = new Queue(`transcode-faults-${process.pid}`, { connection });
  for (const name of ["A", "B"]) {
    replicas.push(
      startFlowReplica({
        name,
        redisUrl,
        queueName: queue.name,
        mediaRoot: join(dir, "media"),
        workDir: join(dir, name),
        onPiece: (end) => pieces.push(end),
      }),
    );
  }
  await Promise.all(replicas.map((replica) => replica.worker.waitUntilReady()));
  // Three 4 s chunks and the sound.
  film = await generateVideo(join(dir, "film.mp4"), {
    seconds: 12,
    width: 320,
    height: 180,
    fps: 25,
    audio: "stereo",
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await queue?.close();
  connection?.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe("a piece that fails for good", () => {
  test("fails the film at once: the pieces nobody started are never encoded", async () => {
    // Ten 4 s chunks, damaged at about 10 s: the third chunk fails while seven wait behind it.
    const whole = await generateVideo(join(dir, "whole.mp4"), {
      seconds: 40,
      width: 320,
      height: 180,
      fps: 25,
      audio: "none",
      faststart: true,
    });
    const bytes = await readFile(whole);
    const damaged = join(dir, "damaged.mp4");
    const cut = [Math.floor(bytes.length * 0.25), Math.floor(bytes.length * 0.35)];
    await writeFile(damaged, Buffer.concat([bytes.subarray(0, cut[0]), bytes.subarray(cut[1])]));
    const sourceKey = await putSource("damaged.mp4", damaged);
    const data: FilmData = { sourceKey, outputDir: join(dir, "damaged-out"), flowOnly: true };
    await queue.add("transcode", data, { jobId: "film-1" });
    expect(await settled("film-1")).toBe("failed");
    expect((await queue.getJob("film-1"))?.failedReason).toMatch(/^The video cannot be decoded after/);
    await noPieceLeft("film-1");
    // Without the early failure the job waited for every sibling: all ten ran before it failed.
    expect(ofFilm("film-1").length).toBeLessThan(10);
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-1" })))).toBe(false);
  }, 180_000);
});

describe("a film planned for NVENC on replicas without it", () => {
  test(
    "its pieces go back to the queue while a GPU transcoder is online, and fail the film with a reason once none is",
    async () => {
      // The heartbeats of a replica with NVENC (busy elsewhere: it takes no job of this queue).
      const gpu = new Heartbeat({
        redis: connection,
        name: `gpu-${process.pid}`,
        hwaccel: "nvenc",
        concurrency: 1,
        jobs: () => [],
        log: pino({ level: "silent" }),
      });
      gpu.start();
      try {
        const sourceKey = await putSource("nvenc.mp4", film);
        // As a replica with NVENC plans a film when every transcoder online has NVENC.
        const data: FilmData = {
          sourceKey,
          outputDir: join(dir, "nvenc-out"),
          flowOnly: true,
          encoder: "h264_nvenc",
        };
        await queue.add("transcode", data, { jobId: "film-nvenc" });
        await eventually(
          "a piece of the NVENC film handed back",
          async () => ofFilm("film-nvenc").length > 0 || null,
          60_000,
        );
        // Handed back, none encoded (a CPU replica would mix x264 chunks into the NVENC renditions).
        expect(ofFilm("film-nvenc").every((piece) => piece.outcome !== "done")).toBe(true);
        expect(await queue.getJobState("film-nvenc")).toBe("waiting-children");
        const delayed = await queue.getJobs(["delayed"]);
        expect(delayed.some((job) => job.id?.startsWith("film-nvenc-"))).toBe(true);
      } finally {
        // The GPU replica leaves: a graceful stop takes its heartbeat out at once.
        await gpu.stop();
      }
      // The next claim fails the piece for good, and the film with its reason.
      expect(await settled("film-nvenc")).toBe("failed");
      expect((await queue.getJob("film-nvenc"))?.failedReason).toContain(
        "the film is encoded with h264_nvenc and no transcoder that runs it was heard from",
      );
      await noPieceLeft("film-nvenc");
      expect(ofFilm("film-nvenc").every((piece) => piece.outcome !== "done")).toBe(true);
      expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-nvenc" })))).toBe(false);
    },
    240_000 + NVENC_PIECE_HAND_BACK_MS,
  );
});

describe("a film's job handed back after its pieces were added", () => {
  test("keeps its flow: the running pieces go on and the next run collects them", async () => {
    const sourceKey = await putSource("handed-back.mp4", film);
    // Delayed 1.5 s right after planning (the same-job guard, a shutdown): slow pieces run meanwhile.
    const data: FilmData = {
      sourceKey,
      outputDir: join(dir, "handed-back-out"),
      preset: "medium",
      handBack: "after-plan",
    };
    await queue.add("transcode", data, { jobId: "film-2" });
    expect(await settled("film-2")).toBe("completed");
    expect(ofFilm("film-2").map((piece) => piece.outcome)).toEqual(["done", "done", "done", "done"]);
    expect(existsSync(join(dir, "handed-back-out", "180p", "index.m3u8"))).toBe(true);
  }, 180_000);
});

describe("a film's job that recorded its flow but never added its pieces", () => {
  test("gets them added by its next run, which then collects them: no attempt lost", async () => {
    const sourceKey = await putSource("no-pieces.mp4", film);
    // Handed back between recording the flow and adding its pieces: the state a crash there leaves.
    const data: FilmData = { sourceKey, outputDir: join(dir, "no-pieces-out"), handBack: "before-pieces" };
    await queue.add("transcode", data, { jobId: "film-7", attempts: 1 });
    expect(await settled("film-7")).toBe("completed");
    const job = await queue.getJob("film-7");
    expect(job?.data.handedBack).toBe(true);
    // One flow, the one recorded before the hand-back, encoded once.
    expect(ofFilm("film-7").map((piece) => piece.outcome)).toEqual(["done", "done", "done", "done"]);
    expect(existsSync(join(dir, "no-pieces-out", "180p", "index.m3u8"))).toBe(true);
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-7" })))).toBe(false);
  }, 180_000);
});

describe("a film's job handed back after its stitch", () => {
  test("the next run stitches the same pieces again, whose scratch goes only once it is done", async () => {
    const sourceKey = await putSource("stitched.mp4", film);
    const data: FilmData = { sourceKey, outputDir: join(dir, "stitched-out"), handBack: "after-stitch" };
    await queue.add("transcode", data, { jobId: "film-3" });
    expect(await settled("film-3")).toBe("completed");
    const job = await queue.getJob("film-3");
    expect(job?.data.handedBack).toBe(true);
    // One flow, encoded once: the second run collected it.
    expect(ofFilm("film-3")).toHaveLength(4);
    expect(existsSync(join(dir, "stitched-out", "180p", "index.m3u8"))).toBe(true);
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-3" })))).toBe(false);
  }, 180_000);
});

describe("a film's job added again under the same id", () => {
  test("plans a flow of its own, and no piece's job is kept", async () => {
    const sourceKey = await putSource("again.mp4", film);
    const data: FilmData = { sourceKey, outputDir: join(dir, "again-out") };
    await queue.add("transcode", data, { jobId: "film-4" });
    expect(await settled("film-4")).toBe("completed");
    const first = flowOf((await queue.getJob("film-4"))!);

    // The job history trimmed the job (a count-based removal takes the parent alone), then the api's
    // reconcile adds it again: the attempt count starts over.
    await (await queue.getJob("film-4"))!.remove({ removeChildren: false });
    await queue.add("transcode", data, { jobId: "film-4" });
    expect(await settled("film-4")).toBe("completed");
    const second = flowOf((await queue.getJob("film-4"))!);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    expect(ofFilm("film-4")).toHaveLength(8);
    expect(ofFilm("film-4").every((piece) => piece.outcome === "done")).toBe(true);
    // Their results live on in the parent's hashes; the pieces' own jobs went as they finished.
    const kept = await queue.getJobs(["completed", "failed"]);
    expect(kept.map((job) => job.id).filter((id) => id?.startsWith("film-4-"))).toEqual([]);
  }, 180_000);
});

describe("a film finished by a replica with other settings", () => {
  test("is stitched with the ladder and segments its flow was planned with", async () => {
    const reference = join(dir, "planned-reference");
    await transcode({
      sourcePath: film,
      outputDir: reference,
      ladderHeights: [180],
      segmentSeconds: FLOW_SEGMENT_SECONDS,
      preset: FLOW_PRESET,
      thumbnails: false,
    });
    const sourceKey = await putSource("planned.mp4", film);
    const outputDir = join(dir, "planned-out");
    // The run after planning acts as a replica with CHUNKING off, a 144p ladder and 3 s segments.
    const data: FilmData = { sourceKey, outputDir, otherSettingsWhenResumed: true };
    await queue.add("transcode", data, { jobId: "film-5" });
    expect(await settled("film-5")).toBe("completed");
    expect(ofFilm("film-5")).toHaveLength(4);
    const playlist = (root: string) => Bun.file(join(root, "180p", "index.m3u8")).text();
    expect(await playlist(outputDir)).toBe(await playlist(reference));
    expect(existsSync(join(outputDir, "144p"))).toBe(false);
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-5" })))).toBe(false);
  }, 180_000);
});
