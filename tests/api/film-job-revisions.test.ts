// What the api does to a revision's queued job when an admin acts on it while no worker holds it, on a
// real api, Redis and PostgreSQL, with the queue driven by hand as a worker would: a film's job that
// BullMQ failed itself (its runs stalled too often, so no transcoder forgot its flow) is retried from a
// clean slate; a file replaced while the old revision's job waited (a film for its pieces, a job handed
// back) ends that revision's open attempt in the job history instead of leaving it "running" forever.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Queue, UnrecoverableError, Worker } from "bullmq";
import type Redis from "ioredis";
import { TRANSCODE_QUEUE, transcodeJobId } from "../../contract/transcode-jobs.ts";
import {
  filmJobDataWithFlow,
  flowAttemptOfFilmJob,
  PIECE_JOB_NAME,
  pieceJobId,
} from "../../contract/transcode-pieces.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo, replaceFile } from "../support/admin.ts";
import { SAMPLE_RUNG, tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { bullConnection, TestTranscoder, transcodeQueue } from "../support/transcoder.ts";

let api: TestApi;
let admin: Client;
let connection: Redis;
let queue: Queue;
let transcoder: TestTranscoder;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV);
  admin = await adminClient(api);
  connection = bullConnection(api);
  queue = transcodeQueue(connection);
  transcoder = new TestTranscoder(api);
});

afterAll(async () => {
  await transcoder?.close();
  await queue?.close();
  connection?.disconnect();
  await api?.stop();
});

/** The `processing` report of a revision's first run on `worker`. */
const started = (videoId: number, worker: string): TranscodeReport => ({
  type: "processing",
  videoId,
  revision: 1,
  attempt: 1,
  worker,
  at: new Date().toISOString(),
});

interface Attempt {
  revision: number;
  attempt: number;
  worker: string;
  outcome: string;
  error: string | null;
  finished_at: string | null;
}

async function history(id: number): Promise<Attempt[]> {
  const response = await admin.get(`/api/admin/videos/${id}/attempts`);
  expect(response.status).toBe(200);
  return (await response.json()) as Attempt[];
}

const PLAN = {
  ladder: [SAMPLE_RUNG],
  segmentSeconds: 6,
  chunks: [{ index: 0, startSeconds: 0, endSeconds: null }],
};

describe("a film's job that BullMQ failed with its flow recorded", () => {
  test("is retried from a clean slate: no flow, no attempt carried on, the old pieces gone", async () => {
    await queue.drain();
    const video = await createVideo(api, admin);
    const jobId = transcodeJobId(video.id, 1);
    const piece = pieceJobId(jobId, "fdeadrun", {
      kind: "chunk",
      index: 0,
      startSeconds: 0,
      endSeconds: null,
    });
    // A planning run as a worker makes it: claimed, the flow recorded, one piece added and not started.
    const hand = new Worker(TRANSCODE_QUEUE, null, { connection: bullConnection(api) });
    try {
      const job = await hand.getNextJob("planner-token");
      expect(job?.id).toBe(jobId);
      await transcoder.deliver(started(video.id, "planner"));
      await job!.updateData(
        filmJobDataWithFlow(job!.data, "fdeadrun", PLAN, { attempt: 1, worker: "planner" }) as never,
      );
      await queue.add(PIECE_JOB_NAME, {} as never, {
        jobId: piece,
        parent: { id: jobId, queue: job!.queueQualifiedName },
      });
      expect(flowAttemptOfFilmJob((await queue.getJob(jobId))!.data)).toEqual({
        attempt: 1,
        worker: "planner",
      });
      // As the stall check fails it for good (no retry left, no transcoder's catch run): the flow stays.
      const stalled = new UnrecoverableError("job stalled more than allowable limit");
      await job!.moveToFailed(stalled, "planner-token", false);
    } finally {
      await hand.close();
    }
    expect(await queue.getJobState(jobId)).toBe("failed");
    await transcoder.deliver({
      type: "error",
      videoId: video.id,
      revision: 1,
      attempt: 1,
      worker: "planner",
      message: "job stalled more than allowable limit",
      at: new Date().toISOString(),
    });
    expect((await getVideo(admin, video.id)).processing_state).toBe("error");

    const response = await admin.post(`/api/admin/videos/${video.id}/retry`);
    expect(response.status, await response.text()).toBe(202);
    const retried = (await queue.getJob(jobId))!;
    expect(await retried.getState()).toBe("waiting");
    // Its next run plans a flow of its own and opens its own attempt (it carried on attempt 1 before).
    expect(retried.data).not.toHaveProperty("flow");
    expect(retried.data).not.toHaveProperty("flowPlan");
    expect(flowAttemptOfFilmJob(retried.data)).toBeNull();
    expect((await retried.getDependencies()).unprocessed ?? []).toEqual([]);
    expect(await queue.getJob(piece)).toBeUndefined();
    // The history keeps the dead run as it ended.
    expect((await history(video.id)).map((row) => [row.attempt, row.worker, row.outcome])).toEqual([
      [1, "planner", "error"],
    ]);
  });
});

describe("a file replaced while the old revision's job waited", () => {
  test("ends that revision's open attempt as interrupted, saying why", async () => {
    const video = await createVideo(api, admin);
    // Its run started, then handed the job back (a shutdown; a film waiting for its pieces alike).
    await transcoder.deliver(started(video.id, "transcoder-1"));
    expect(await queue.getJobState(transcodeJobId(video.id, 1))).toBe("waiting");
    const replaced = await replaceFile(api, admin, video.id, await tinyMp4Bytes());
    expect(replaced.status, await replaced.text()).toBe(202);
    expect(await queue.getJob(transcodeJobId(video.id, 1))).toBeUndefined();
    const [row] = await history(video.id);
    expect(row).toMatchObject({ revision: 1, attempt: 1, worker: "transcoder-1", outcome: "interrupted" });
    expect(row?.error).toBe("its file was replaced before this attempt finished");
    expect(row?.finished_at).not.toBeNull();
  });

  test("a film waiting for its pieces, one of them running, stays for its own run to end", async () => {
    await queue.drain();
    const video = await createVideo(api, admin);
    const jobId = transcodeJobId(video.id, 1);
    const planner = new Worker(TRANSCODE_QUEUE, null, { connection: bullConnection(api) });
    const replica = new Worker(TRANSCODE_QUEUE, null, { connection: bullConnection(api) });
    try {
      const film = await planner.getNextJob("planner-token");
      expect(film?.id).toBe(jobId);
      await transcoder.deliver(started(video.id, "planner"));
      // Two pieces added, the film's job waiting for them, and a replica running the first.
      const pieces = [0, 1].map((index) =>
        pieceJobId(jobId, "fwaiting", { kind: "chunk", index, startSeconds: index * 6, endSeconds: null }),
      );
      for (const piece of pieces)
        await queue.add(PIECE_JOB_NAME, {} as never, {
          jobId: piece,
          parent: { id: jobId, queue: film!.queueQualifiedName },
        });
      expect(await film!.moveToWaitingChildren("planner-token")).toBe(true);
      expect((await replica.getNextJob("piece-token"))?.id).toBe(pieces[0]);

      const replaced = await replaceFile(api, admin, video.id, await tinyMp4Bytes());
      expect(replaced.status, await replaced.text()).toBe(202);
      // Not removed under its running piece: that piece's failure (its source is gone) wakes the
      // film's job, whose run drops the flow's pieces and scratch and reports the attempt's end
      // (tests/e2e/chunked-farm.test.ts, "a film deleted while its pieces run"). Until then the
      // attempt is the run's to end, not the api's.
      expect(await queue.getJobState(jobId)).toBe("waiting-children");
      expect((await history(video.id)).find((row) => row.revision === 1)?.outcome).toBe("running");
    } finally {
      await replica.close();
      await planner.close();
    }
  });

  test("leaves the attempt of a job a worker holds to that worker's own report", async () => {
    await queue.drain();
    const video = await createVideo(api, admin);
    const hand = new Worker(TRANSCODE_QUEUE, null, { connection: bullConnection(api) });
    try {
      expect((await hand.getNextJob("runner-token"))?.id).toBe(transcodeJobId(video.id, 1));
      await transcoder.deliver(started(video.id, "transcoder-2"));
      const replaced = await replaceFile(api, admin, video.id, await tinyMp4Bytes());
      expect(replaced.status, await replaced.text()).toBe(202);
      expect((await history(video.id)).find((row) => row.revision === 1)?.outcome).toBe("running");
    } finally {
      await hand.close();
    }
  });
});
