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
import { Queue } from "bullmq";
import Redis from "ioredis";
import { generateVideo } from "../../dev/media.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { LocalMediaStorage, type MediaStorage } from "../../storage/index.ts";
import { flowOf, flowScratchOf } from "../../transcoder/chunks/film-flow.ts";
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
let storage: MediaStorage;
let queue: Queue;
let redisUrl: string;
let connection: Redis;
const replicas: FlowReplica[] = [];
/** Which replica ran which piece, in the order they finished or failed. */
const pieces: PieceEnd[] = [];

async function putSource(name: string, path: string): Promise<string> {
  const key = `uploads/${name}`;
  await mkdir(join(dir, "media", "uploads"), { recursive: true });
  await copyFile(path, join(dir, "media", key));
  return key;
}

const startReplica = (name: string, lockMs?: number) =>
  startFlowReplica({
    name,
    redisUrl,
    queueName: queue.name,
    mediaRoot: join(dir, "media"),
    workDir: join(dir, name),
    onPiece: (end) => pieces.push(end),
    lockMs,
  });

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
  redisUrl = await testRedisUrl();
  connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queue = new Queue(`transcode-flow-${process.pid}`, { connection });
  for (const name of ["A", "B"]) replicas.push(startReplica(name));
  await Promise.all(replicas.map((replica) => replica.worker.waitUntilReady()));
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await queue?.close();
  connection?.disconnect();
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
      segmentSeconds: FLOW_SEGMENT_SECONDS,
      preset: FLOW_PRESET,
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
    // Forgotten: a retry of the job plans a flow of its own instead of collecting this failure again.
    expect(flowOf(film!)).toBeNull();
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
    // The failed pieces leave no job behind: the farm's failed list and metrics count the film once.
    const failed = await queue.getFailed();
    expect(failed.map((job) => job.id).filter((id) => id?.startsWith("film-2"))).toEqual(["film-2"]);
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

describe("a replica killed mid-chunk", () => {
  test("costs only that chunk: another replica redoes it and the film comes out whole", async () => {
    // Alone on the queue: a replica in a child process, killed with SIGKILL while FFmpeg writes a chunk.
    await Promise.all(replicas.splice(0).map((replica) => replica.close()));
    const sourcePath = await generateVideo(join(dir, "killed.mp4"), {
      seconds: 24,
      width: 320,
      height: 180,
      fps: 25,
      audio: "stereo",
    });
    const reference = join(dir, "killed-reference");
    const preset = "medium";
    await transcode({
      sourcePath,
      outputDir: reference,
      ladderHeights: [180],
      segmentSeconds: 2,
      preset,
      thumbnails: false,
    });
    const childDir = join(dir, "C");
    const child = Bun.spawn(
      [
        "bun",
        join(import.meta.dir, "../support/flow-replica.ts"),
        redisUrl,
        queue.name,
        join(dir, "media"),
        childDir,
        "C",
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const lines: string[] = [];
    void (async () => {
      const decoder = new TextDecoder();
      for await (const bytes of child.stdout)
        lines.push(...decoder.decode(bytes).split("\n").filter(Boolean));
    })();
    await eventually("the child replica to be ready", async () => lines.includes("ready"), 30_000);
    const sourceKey = await putSource("killed.mp4", sourcePath);
    const outputDir = join(dir, "killed-out");
    await queue.add("transcode", { sourceKey, outputDir, preset } satisfies FilmData, { jobId: "film-4" });

    const started = await eventually(
      "the child to start a piece",
      async () => lines.find((line) => line.startsWith("piece-started film-4-"))?.split(" ")[1],
      60_000,
    );
    // Mid-chunk: its FFmpeg has begun writing the chunk's partial file.
    await eventually(
      "the piece's FFmpeg to write",
      async () => (await Array.fromAsync(new Bun.Glob("**/*.part").scan({ cwd: childDir }))).length > 0,
      30_000,
      10,
    );
    child.kill("SIGKILL");
    await child.exited;
    expect(lines.some((line) => line.startsWith(`piece-ended ${started} `))).toBe(false);

    replicas.push(startReplica("D", 1000));
    expect(await settled("film-4")).toBe("completed");
    const ofFilm = pieces.filter((piece) => piece.id.startsWith("film-4-"));
    const doneByChild = lines.filter((line) => line.startsWith("piece-ended film-4-")).length;
    // Every piece once: the killed one by D, none twice.
    expect(ofFilm.filter((piece) => piece.id === started)).toEqual([
      { worker: "D", id: started, outcome: "done" },
    ]);
    expect(ofFilm.length + doneByChild).toBe(7);
    expect(new Set(ofFilm.map((piece) => piece.id)).size).toBe(ofFilm.length);
    const playlist = (root: string) => Bun.file(join(root, "180p", "index.m3u8")).text();
    expect(await playlist(outputDir)).toBe(await playlist(reference));
    expect(existsSync(join(dir, "media", flowScratchOf({ id: "film-4" })))).toBe(false);
  }, 180_000);
});

describe("a short upload behind a film's pieces", () => {
  test("starts at the next free replica: the film's remaining pieces wait behind it", async () => {
    // One replica (D, from the test before) and a film of seven slow pieces.
    const film = await generateVideo(join(dir, "queued-film.mp4"), {
      seconds: 24,
      width: 320,
      height: 180,
      fps: 25,
      audio: "stereo",
    });
    const short = await generateVideo(join(dir, "short.mp4"), {
      seconds: 3,
      width: 320,
      height: 180,
      fps: 25,
      audio: "stereo",
    });
    const filmKey = await putSource("queued-film.mp4", film);
    const shortKey = await putSource("short.mp4", short);
    const data: FilmData = { sourceKey: filmKey, outputDir: join(dir, "queued-out"), preset: "medium" };
    await queue.add("transcode", data, { jobId: "film-5" });
    const done = () => pieces.filter((piece) => piece.id.startsWith("film-5-") && piece.outcome === "done");
    await eventually("a piece of film-5 to finish", async () => done().length > 0, 60_000);
    const doneWhenAdded = done().length;
    await queue.add(
      "transcode",
      { sourceKey: shortKey, outputDir: join(dir, "short-out") } satisfies FilmData,
      {
        jobId: "short-1",
      },
    );
    expect(await settled("short-1")).toBe("completed");
    // Only the piece running when the short job came finished before it (in arrival order, five would).
    expect(done().length).toBeLessThanOrEqual(doneWhenAdded + 1);
    expect(doneWhenAdded + 1).toBeLessThan(7);
    expect(await settled("film-5")).toBe("completed");
  }, 180_000);
});
