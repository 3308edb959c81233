// A film's pieces wait behind video jobs (their priority), but not forever: once they have waited longer
// than the limit, the film keeps one piece in line with the video jobs (transcoder/chunks/piece-aging.ts).
// Real Redis and BullMQ: a worker serves a queue on which a new upload arrives each time one starts, so
// there is always a video job waiting; without ageing the film's pieces never run.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { Queue, Worker } from "bullmq";
import Redis from "ioredis";
import { testRedisUrl } from "../../dev/services.ts";
import { PIECE_PRIORITY } from "../../transcoder/chunks/flow.ts";
import { agePieces } from "../../transcoder/chunks/piece-aging.ts";
import { eventually } from "../support/eventually.ts";

let connection: Redis;
let queue: Queue;
let round = 0;

beforeAll(async () => {
  connection = new Redis(await testRedisUrl(), { maxRetriesPerRequest: null });
});
beforeEach(async () => {
  await queue?.obliterate({ force: true });
  await queue?.close();
  queue = new Queue(`piece-aging-${process.pid}-${++round}`, { connection });
});
afterAll(async () => {
  await queue?.obliterate({ force: true });
  await queue?.close();
  connection?.disconnect();
});

/** A film's pieces as the planning replica adds them (ids as pieceJobId makes them), `ageMs` ago. */
async function addFilm(parent: string, chunks: number, ageMs: number): Promise<string[]> {
  const ids = [`${parent}-f0abc-audio`];
  for (let i = 0; i < chunks; i++) ids.push(`${parent}-f0abc-chunk-${String(i).padStart(5, "0")}`);
  await queue.addBulk(
    ids.map((id) => ({
      name: "piece",
      data: {},
      opts: { jobId: id, priority: PIECE_PRIORITY, timestamp: Date.now() - ageMs },
    })),
  );
  return ids;
}

/** One round; the lock is dropped after it, so that the next round acts (unless `keepLock`). */
async function ageOnce(maxWaitMs: number, holder = "test", lockMs = 5_000, keepLock = false) {
  const promoted = await agePieces({ queue, redis: connection, maxWaitMs, lockMs, holder });
  if (!keepLock) await connection.del(`vf:piece-aging:${queue.name}`);
  return promoted;
}

describe("one round of ageing", () => {
  test("a film that waited longer than the limit gets its next piece into the line, at its back", async () => {
    await queue.add("transcode", {}, { jobId: "upload-1" });
    const old = await addFilm("video-1-r1", 3, 60_000);
    const young = await addFilm("video-2-r1", 3, 1_000);
    expect(await ageOnce(30_000)).toEqual([old[0]!]);
    // The line, first served first: upload-1, then the film's sound.
    expect(await queue.getRanges(["wait"], 0, -1, true)).toEqual(["upload-1", old[0]!]);
    expect(await queue.getJobState(old[1]!)).toBe("prioritized");
    for (const id of young) expect(await queue.getJobState(id)).toBe("prioritized");
    // The film has a piece in the line now: the next round leaves it be.
    expect(await ageOnce(30_000)).toEqual([]);
  });

  test("a film with a piece running needs nothing; one replica ages per lock period", async () => {
    const ids = await addFilm("video-3-r1", 2, 60_000);
    const worker = new Worker(queue.name, null, { connection, autorun: false });
    try {
      const taken = await worker.getNextJob("token-1");
      expect(taken?.id).toBe(ids[0]);
      expect(await ageOnce(30_000)).toEqual([]);
      await taken?.moveToCompleted({ key: "x" }, "token-1", false);
      // Two replicas in the same period: the first holds the lock, the second does nothing.
      expect(await ageOnce(30_000, "a", 5_000, true)).toEqual([ids[1]!]);
      expect(await ageOnce(30_000, "b", 5_000, true)).toEqual([]);
      expect(await connection.get(`vf:piece-aging:${queue.name}`)).toBe("a");
    } finally {
      await worker.close();
    }
  });
});

describe("a promoted piece that comes back from a delay", () => {
  test("is still the film's one piece in line: no second piece is promoted meanwhile", async () => {
    const ids = await addFilm("video-5-r1", 3, 60_000);
    expect(await ageOnce(30_000)).toEqual([ids[0]!]);
    const worker = new Worker(queue.name, null, { connection, autorun: false });
    try {
      // A replica takes it and hands it back (a CPU replica and an NVENC piece, or a retry's backoff).
      const taken = await worker.getNextJob("token-2");
      expect(taken?.id).toBe(ids[0]);
      await taken?.moveToDelayed(Date.now() + 60_000, "token-2");
      expect(await ageOnce(30_000)).toEqual([]);
      // Its delay over (promote: what BullMQ does when it ends), it joins the line with its priority 0.
      await (await queue.getJob(ids[0]!))?.promote();
      expect(await queue.getJobState(ids[0]!)).toBe("waiting");
      expect(await ageOnce(30_000)).toEqual([]);
      for (const id of ids.slice(1)) expect(await queue.getJobState(id)).toBe("prioritized");
    } finally {
      await worker.close();
    }
  });
});

describe("a steady stream of uploads", () => {
  test("starves a film without ageing; with it the film's pieces run between the uploads", async () => {
    const order: string[] = [];
    let uploads = 0;
    const worker = new Worker(
      queue.name,
      async (job) => {
        order.push(job.name === "piece" ? String(job.id) : "upload");
        // Each upload that starts brings the next: there is always a video job waiting.
        if (job.name === "transcode") await queue.add("transcode", {}, { jobId: `upload-${++uploads}` });
        await Bun.sleep(20);
      },
      { connection, concurrency: 1, autorun: false },
    );
    try {
      // Both waiting before the worker starts, which then serves the upload first.
      const ids = await addFilm("video-4-r1", 2, 0);
      await queue.add("transcode", {}, { jobId: `upload-${++uploads}` });
      void worker.run();
      await eventually("40 uploads", async () => order.length >= 40, 30_000, 20);
      // Without ageing: not one piece ran.
      expect(order.filter((name) => name !== "upload")).toEqual([]);

      let rounds = Promise.resolve();
      const ageing = setInterval(() => {
        rounds = rounds.then(() => ageOnce(200)).then(() => {});
      }, 50);
      try {
        await eventually("every piece of the film", async () => order.includes(ids.at(-1)!), 30_000, 20);
      } finally {
        clearInterval(ageing);
        await rounds;
      }
      const ran = order.filter((name) => name !== "upload");
      expect(ran).toEqual(ids);
      // One at a time, with uploads between them: the film never takes the line over.
      const at = ids.map((id) => order.indexOf(id));
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThan(1);
    } finally {
      await worker.close();
    }
  }, 60_000);
});
