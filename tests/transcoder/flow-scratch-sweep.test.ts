// The flows' scratch that no run collects (transcoder/chunks/flow-scratch-sweep.ts), on a real Redis
// queue and the local media storage: a removed parent's pieces, a flow its job re-planned away from,
// a completed job's leftovers go once idle; the flow a waiting job still collects stays however old,
// and so does anything written to recently.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Queue, Worker } from "bullmq";
import Redis from "ioredis";
import pino from "pino";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { LocalMediaStorage } from "../../storage/index.ts";
import { flowScratchOf } from "../../transcoder/chunks/film-flow.ts";
import { sweepFlowScratch } from "../../transcoder/chunks/flow-scratch-sweep.ts";
import { StagingSweeper } from "../../transcoder/staging-sweeper.ts";
import { eventually } from "../support/eventually.ts";

const root = mkdtempSync(join(tmpdir(), "vf-flow-sweep-"));
const storage = new LocalMediaStorage(join(root, "media"));
const prefix = `flow-sweep-${process.pid}-${Date.now()}`;
let connection: Redis;
let queue: Queue;
const HOUR = 3600_000;

beforeAll(async () => {
  connection = new Redis(await testRedisUrl(), { maxRetriesPerRequest: null });
  queue = new Queue(TRANSCODE_QUEUE, { connection, prefix });
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  rmSync(root, { recursive: true, force: true });
});

/** A piece's file of `flow` under job `jobId`'s scratch, last written `ageMs` ago; its key. */
function plantPiece(jobId: string, flow: string, name: string, bytes: number, ageMs: number): string {
  const key = `${flowScratchOf({ id: jobId })}/${flow}/${name}`;
  const path = join(root, "media", key);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, new Uint8Array(bytes));
  const at = (Date.now() - ageMs) / 1000;
  utimesSync(path, at, at);
  return key;
}

const exists = async (key: string) => (await storage.stat(key)) !== null;

test("only the flows no run collects go, once idle; the flow a waiting job names stays however old", async () => {
  // A job that ran to the end naming its flow (its ready report's cleanup failed, say).
  await queue.add("transcode", { flow: "fdone" }, { jobId: "video-1-r1" });
  const worker = new Worker(TRANSCODE_QUEUE, async () => ({}), { connection, prefix });
  await eventually(
    "the job to complete",
    async () => (await queue.getJobState("video-1-r1")) === "completed",
  );
  await worker.close();
  // A job waiting for its pieces: its data names flow "fnow"; "fold" is an earlier planning of it.
  await queue.add("transcode", { flow: "fnow" }, { jobId: "video-2-r1", delay: 3_600_000 });

  const completedLeftover = plantPiece("video-1-r1", "fdone", "a1-chunk_00000.ts", 100, 2 * HOUR);
  const collected = plantPiece("video-2-r1", "fnow", "a1-chunk_00000.ts", 200, 2 * HOUR);
  const replanned = plantPiece("video-2-r1", "fold", "a1-chunk_00000.ts", 300, 2 * HOUR);
  const removedParent = [
    plantPiece("video-3-r1", "fgone", "a1-chunk_00000.ts", 400, 2 * HOUR),
    plantPiece("video-3-r1", "fgone", "a1-audio.ts", 50, 2 * HOUR),
  ];
  const fresh = plantPiece("video-4-r1", "fnew", "a1-chunk_00000.ts", 500, 60_000);

  const reclaimed = await sweepFlowScratch({ storage, queue, maxIdleMs: HOUR });
  expect(reclaimed).toEqual({ items: 3, bytes: 100 + 300 + 400 + 50 });
  expect(await exists(completedLeftover)).toBe(false);
  expect(await exists(replanned)).toBe(false);
  for (const key of removedParent) expect(await exists(key)).toBe(false);
  expect(await exists(collected)).toBe(true);
  expect(await exists(fresh)).toBe(true);
  // Nothing more to take the second time.
  expect(await sweepFlowScratch({ storage, queue, maxIdleMs: HOUR })).toEqual({ items: 0, bytes: 0 });
});

test("a transcoder's staging sweep reports the flows' scratch it took as flow_scratch", async () => {
  const leftover = plantPiece("video-5-r1", "fx", "a1-chunk_00000.ts", 700, 2 * HOUR);
  const sweeper = new StagingSweeper({
    storage,
    redis: connection,
    lockKeyOf: (jobId) => `${prefix}:${TRANSCODE_QUEUE}:${jobId}:lock`,
    isRunning: () => false,
    quietMs: HOUR,
    maxIdleMs: HOUR,
    log: pino({ level: "silent" }),
    flowQueue: queue,
  });
  const swept = await sweeper.sweep();
  expect(swept.flow_scratch).toEqual({ items: 1, bytes: 700 });
  expect(await exists(leftover)).toBe(false);
});
