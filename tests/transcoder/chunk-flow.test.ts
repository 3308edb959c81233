// A film's flow on real Redis (BullMQ parent and child jobs), real FFmpeg and the local media storage,
// with two workers in this process standing for two replicas: both take pieces of one film and the
// stitched tree equals the one-pass ladder's; a piece that meets damage fails the film with one plain
// sentence and the pieces nobody started are removed; removing the film's job (a delete) stops the
// piece that is running. The workers' processor is what the transcoder's worker runs for each job name.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Job, Queue, WaitingChildrenError, Worker } from "bullmq";
import Redis from "ioredis";
import { PIECE_JOB_NAME } from "../../contract/transcode-pieces.ts";
import { generateVideo } from "../../dev/media.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { LocalMediaStorage, type MediaStorage } from "../../storage/index.ts";
import { dropFlowScratch, flowScratchOf, runFilmFlow } from "../../transcoder/chunks/film-flow.ts";
import { runPieceJob } from "../../transcoder/chunks/piece-job.ts";
import { planChunks } from "../../transcoder/chunks/plan.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { probeSource } from "../../transcoder/probe.ts";
import { eventually } from "../support/eventually.ts";

const SEGMENT_SECONDS = 2;
const CHUNKING = { minSeconds: 5, segments: 2 };
const PRESET = "ultrafast";

let dir: string;
let storage: MediaStorage;
let queue: Queue;
const connections: Redis[] = [];
const workers: Worker[] = [];
/** Which worker ran which piece, in the order they finished or failed. */
const pieces: { worker: string; id: string; outcome: string }[] = [];

interface FilmData {
  sourceKey: string;
  outputDir: string;
  /** Skip the pipeline (and its decode check) and run the flow straight on the probe. */
  flowOnly?: boolean;
  preset?: string;
}

/** The film's job: the pipeline with the farm's chunking, as the worker runs it (scratch dropped on failure). */
async function filmJob(job: Job<FilmData>, token: string | undefined, worker: string) {
  try {
    return await stitchedFilm(job, token, worker);
  } catch (error) {
    if (!(error instanceof WaitingChildrenError)) await dropFlowScratch(storage, job);
    throw error;
  }
}

async function stitchedFilm(job: Job<FilmData>, token: string | undefined, worker: string) {
  const { sourceKey, outputDir } = job.data;
  const sourcePath = await storage.fetchToLocal(sourceKey, dir);
  const flow = (plan: Pick<Parameters<typeof runFilmFlow>[0], "source" | "ladder" | "chunks">) =>
    runFilmFlow({
      ...plan,
      job,
      token: token ?? "",
      queue,
      storage,
      videoId: 1,
      revision: 1,
      sourceKey,
      segmentSeconds: SEGMENT_SECONDS,
      preset: job.data.preset ?? PRESET,
      outputDir,
      workDir: join(dir, worker, "flow"),
    });
  if (job.data.flowOnly) {
    const source = await probeSource(sourcePath);
    const chunks = planChunks(source.durationSeconds, { ...CHUNKING, segmentSeconds: SEGMENT_SECONDS });
    await flow({ source, ladder: chooseLadder(source, { heights: [180] }), chunks: chunks ?? [] });
    return { ok: true };
  }
  await transcode({
    sourcePath,
    outputDir,
    ladderHeights: [180],
    segmentSeconds: SEGMENT_SECONDS,
    preset: PRESET,
    thumbnails: false,
    chunking: { ...CHUNKING, scratchDir: join(dir, worker, "unused"), farm: flow },
  });
  return { ok: true };
}

function startWorker(name: string, redisUrl: string) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connections.push(connection);
  const worker = new Worker(
    queue.name,
    async (job, token) => {
      if (job.name !== PIECE_JOB_NAME) return filmJob(job as Job<FilmData>, token, name);
      try {
        const result = await runPieceJob(job, {
          storage,
          queue,
          workDir: join(dir, name),
          parentCheckMs: 100,
        });
        pieces.push({ worker: name, id: job.id ?? "", outcome: "done" });
        return result;
      } catch (error) {
        pieces.push({ worker: name, id: job.id ?? "", outcome: (error as Error).message });
        throw error;
      }
    },
    { connection, concurrency: 1, lockDuration: 10_000 },
  );
  workers.push(worker);
}

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

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chunk-flow-"));
  storage = new LocalMediaStorage(join(dir, "media"));
  const redisUrl = await testRedisUrl();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connections.push(connection);
  queue = new Queue(`transcode-flow-${process.pid}`, { connection });
  startWorker("A", redisUrl);
  startWorker("B", redisUrl);
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close(true)));
  await queue?.close();
  for (const connection of connections) connection.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe("two replicas and one film", () => {
  test("both encode pieces, and the stitched playlist is the one-pass ladder's", async () => {
    const sourcePath = await generateVideo(join(dir, "film.mp4"), {
      seconds: 24,
      width: 320,
      height: 180,
      fps: 25,
      audio: "stereo",
    });
    const reference = join(dir, "reference");
    await transcode({
      sourcePath,
      outputDir: reference,
      ladderHeights: [180],
      segmentSeconds: SEGMENT_SECONDS,
      preset: PRESET,
      thumbnails: false,
    });
    const outputDir = join(dir, "film-out");
    const sourceKey = await putSource("film.mp4", sourcePath);
    await queue.add("transcode", { sourceKey, outputDir } satisfies FilmData, { jobId: "film-1" });
    expect(await settled("film-1")).toBe("completed");

    const ofFilm = pieces.filter((piece) => piece.id.startsWith("film-1-"));
    // Six 4 s chunks and the sound.
    expect(ofFilm).toHaveLength(7);
    expect(ofFilm.every((piece) => piece.outcome === "done")).toBe(true);
    expect(new Set(ofFilm.map((piece) => piece.worker))).toEqual(new Set(["A", "B"]));
    const playlist = (root: string) => Bun.file(join(root, "180p", "index.m3u8")).text();
    expect(await playlist(outputDir)).toBe(await playlist(reference));
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-1" })))).toBe(false);
  }, 180_000);
});

describe("a film damaged in its middle", () => {
  test("fails with one plain sentence, and the pieces nobody started are removed", async () => {
    const whole = await generateVideo(join(dir, "whole.mp4"), {
      seconds: 24,
      width: 320,
      height: 180,
      fps: 25,
      audio: "none",
      faststart: true,
    });
    const bytes = await readFile(whole);
    const damaged = join(dir, "damaged.mp4");
    const cut = [Math.floor(bytes.length * 0.3), Math.floor(bytes.length * 0.5)];
    await writeFile(damaged, Buffer.concat([bytes.subarray(0, cut[0]), bytes.subarray(cut[1])]));
    const sourceKey = await putSource("damaged.mp4", damaged);
    await queue.add(
      "transcode",
      { sourceKey, outputDir: join(dir, "damaged-out"), flowOnly: true },
      { jobId: "film-2" },
    );
    expect(await settled("film-2")).toBe("failed");
    const film = await queue.getJob("film-2");
    expect(film?.failedReason).toMatch(/^The video cannot be decoded after 00:00:\d\d: the file is damaged/);
    await eventually("no piece of film-2 left waiting", async () => {
      const waiting = await queue.getJobs(["waiting", "prioritized", "active"]);
      return waiting.every((job) => !job.id?.startsWith("film-2-"));
    });
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-2" })))).toBe(false);
    // The damage is told once, by the piece that met it first; the video's error is that sentence.
    const failedOnInput = pieces.filter(
      (piece) => piece.id.startsWith("film-2-") && piece.outcome.startsWith("input: "),
    );
    expect(failedOnInput.length).toBeGreaterThanOrEqual(1);
  }, 180_000);
});

describe("a film deleted mid-flow", () => {
  test("its source and job removed as the api's delete does: the running piece stops, nothing waits", async () => {
    const sourcePath = await generateVideo(join(dir, "long.mp4"), {
      seconds: 48,
      width: 640,
      height: 360,
      fps: 25,
      audio: "stereo",
    });
    const sourceKey = await putSource("long.mp4", sourcePath);
    // A slow preset: the pieces take seconds, so one runs when the delete comes.
    const data: FilmData = { sourceKey, outputDir: join(dir, "long-out"), preset: "slow" };
    await queue.add("transcode", data, { jobId: "film-3" });
    const ofFilm = () => pieces.filter((piece) => piece.id.startsWith("film-3-"));
    await eventually(
      "a piece of film-3 to finish",
      async () => ofFilm().some((p) => p.outcome === "done"),
      90_000,
    );

    await storage.deletePrefix(sourceKey);
    const film = await queue.getJob("film-3");
    // BullMQ refuses to remove a parent while one of its pieces runs: the api's delete ignores that.
    const removal = await film?.remove().then(
      () => "removed",
      (error: Error) => error.message,
    );
    expect(removal).toMatch(/locked/);
    await eventually(
      "no piece of film-3 left to run",
      async () => {
        const left = await queue.getJobs(["waiting", "prioritized", "active", "waiting-children"]);
        return left.every((job) => !job.id?.startsWith("film-3"));
      },
      30_000,
    );
    expect(ofFilm().some((piece) => piece.outcome.startsWith("not wanted: "))).toBe(true);
    expect(ofFilm().filter((piece) => piece.outcome === "done").length).toBeLessThan(13);
    expect(await queue.getJobState("film-3")).toBe("failed");
    expect(existsSync(join(dir, "long-out", "180p", "index.m3u8"))).toBe(false);
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-3" })))).toBe(false);
  }, 180_000);
});
