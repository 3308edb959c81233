// How the api consumes what transcoders report: state events on the video-events queue (through the
// transcoder's own TranscodeReporter, exactly as a transcoder sends them), progress keys, and reconciliation
// against the transcode queue. No transcoder runs: jobs are taken and finished by hand with BullMQ.
//
// Layout: `owner` (consumeEvents: false) owns the database, Redis and media root and answers HTTP;
// `consumer` is a replica started with shareWith that consumes the events, and is the one stopped and
// restarted.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Job, type Queue, Worker } from "bullmq";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { progressKey } from "../../contract/progress.ts";
import { TRANSCODE_QUEUE, type TranscodeJob, transcodeJobId } from "../../contract/transcode-jobs.ts";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { videoChanges } from "../../contract/video-changes.ts";
import { videos } from "../../db/schema/index.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import {
  ADMIN_ENV,
  type AdminVideo,
  adminClient,
  createVideo,
  getVideo,
  replaceFile,
} from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree } from "../support/fixtures.ts";
import type { Client, TestApi } from "../support/test-api.ts";
import { startTestApi } from "../support/test-api.ts";
import { transcodeQueue, videoEventsQueue } from "../support/transcoder.ts";

const PUBLIC_URL = "http://api.videoflix.test";

let owner: TestApi;
let consumer: TestApi;
let admin: Client;
let bull: Redis;
let plain: Redis;
let subscriber: Redis;
let reporter: TranscodeReporter;
let events: Queue<TranscodeReport, boolean>;
let transcode: Queue<TranscodeJob, TranscodeResult>;
/** Every message on vf:video-state since the start, parsed. */
const published: Array<{ type: string; id: number; revision?: number; state?: string }> = [];

beforeAll(async () => {
  // One attempt per job, so that a job made to fail lands in BullMQ's `failed` state at once.
  owner = await startTestApi({ ...ADMIN_ENV, PUBLIC_URL, TRANSCODE_ATTEMPTS: "1" }, { consumeEvents: false });
  [consumer, admin] = await Promise.all([startTestApi({}, { shareWith: owner }), adminClient(owner)]);
  // What a transcoder has: connections to the api's Redis that retry forever.
  bull = new Redis(owner.config.redisUrl, { maxRetriesPerRequest: null });
  plain = new Redis(owner.config.redisUrl, { maxRetriesPerRequest: null });
  reporter = new TranscodeReporter(bull, plain);
  events = videoEventsQueue(bull) as Queue<TranscodeReport, boolean>;
  transcode = transcodeQueue(bull);
  subscriber = new Redis(owner.config.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on("message", (_channel, message) => published.push(JSON.parse(message)));
  await subscriber.subscribe(videoChanges.nameOn(subscriber));
});

afterAll(async () => {
  await reporter?.close();
  await events?.close();
  await transcode?.close();
  subscriber?.disconnect();
  bull?.disconnect();
  plain?.disconnect();
  await consumer?.stop();
  await owner?.stop();
});

const media = (...parts: string[]) => join(owner.config.mediaRoot, ...parts);
const treeOf = (id: number, revision: number) => media(outputPrefixFor(id, revision));
const at = () => new Date().toISOString();

const processing = (videoId: number, revision = 1, attempt = 1): TranscodeReport => ({
  type: "processing",
  videoId,
  revision,
  attempt,
  worker: "test-transcoder-1",
  at: at(),
});
const ready = (videoId: number, revision = 1, result = fabricatedResult()): TranscodeReport => ({
  type: "ready",
  videoId,
  revision,
  result,
  at: at(),
});
const failed = (videoId: number, message: string, revision = 1): TranscodeReport => ({
  type: "error",
  videoId,
  revision,
  message,
  at: at(),
});

/** Waits until the video-events queue has nothing left to apply (fails on a stuck or retried event). */
async function settle(timeoutMs = 8000): Promise<void> {
  try {
    await eventually(
      "video events to be applied",
      async () => {
        const counts = await events.getJobCounts("wait", "active", "delayed", "prioritized");
        return Object.values(counts).every((n) => n === 0);
      },
      timeoutMs,
    );
  } catch (error) {
    const stuck = await events.getJobs(["delayed", "failed"]);
    throw new Error(
      `${(error as Error).message}; retried/failed: ${stuck.map((j) => j.failedReason).join(" | ")}`,
    );
  }
}

/** Reports each event and waits until it is applied, so that their order is the one given. */
async function deliver(...list: TranscodeReport[]): Promise<void> {
  for (const event of list) {
    await reporter.report(event);
    await settle();
  }
}

/** Which of a video's events were applied (the consumer's return value) and which changed nothing. */
async function outcomes(
  videoId: number,
): Promise<Array<{ type: string; revision: number; applied: boolean }>> {
  const jobs = await events.getJobs(["completed"], 0, -1, true);
  return jobs
    .filter((job) => job.data.videoId === videoId)
    .sort((a, b) => a.timestamp - b.timestamp || (a.processedOn ?? 0) - (b.processedOn ?? 0))
    .map((job) => ({ type: job.data.type, revision: job.data.revision, applied: job.returnvalue }));
}

/** The state changes published for a video, after giving pub/sub a moment to deliver stragglers. */
async function stateMessages(videoId: number, atLeast: number) {
  const mine = () => published.filter((m) => m.type === "video.state" && m.id === videoId);
  await eventually(`${atLeast} state messages for video ${videoId}`, async () => mine().length >= atLeast);
  await Bun.sleep(100);
  return mine().map((m) => `${m.state}@r${m.revision}`);
}

async function row(id: number) {
  const [found] = await owner.database.db.select().from(videos).where(eq(videos.id, id));
  return found!;
}

/**
 * Takes a video's transcode job as a transcoder would (active, locked with `token`): the job is moved
 * to the head of the queue first, since other tests' jobs wait in the same queue.
 */
async function takeJob(worker: Worker, videoId: number, revision: number, token: string) {
  const waiting = await transcode.getJob(transcodeJobId(videoId, revision));
  expect(waiting, "the job to take").toBeDefined();
  await waiting!.changePriority({ priority: 0, lifo: true });
  const job = (await worker.getNextJob(token, { block: false })) as Job<TranscodeJob, TranscodeResult>;
  expect(job?.id).toBe(transcodeJobId(videoId, revision));
  return job;
}

function manualWorker(options: { lockDuration?: number; stalledInterval?: number } = {}) {
  return new Worker<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, null, {
    connection: bull,
    autorun: false,
    maxStalledCount: 0,
    ...options,
  });
}

const expectedRenditions = fabricatedResult().renditions.map(({ name, width, height, bandwidth }) => ({
  name,
  width,
  height,
  bandwidth,
}));

describe("state events", () => {
  test("processing → progress from the progress key → ready with renditions, duration and thumbnail", async () => {
    const video = await createVideo(owner, admin);
    await deliver(processing(video.id));
    const started = await getVideo(admin, video.id);
    expect(started.processing_state).toBe("processing");
    expect(started.progress).toEqual({ percent: 0, stage: "processing", eta_seconds: null });
    expect((await row(video.id)).processingStartedAt).toBeInstanceOf(Date);

    await reporter.progress({
      videoId: video.id,
      revision: 1,
      stage: "encoding",
      percent: 42.46,
      rung: "all",
      speed: 3.2,
      etaSeconds: 31,
    });
    const ticking = await getVideo(admin, video.id);
    expect(ticking.progress).toEqual({ percent: 42.5, stage: "encoding", eta_seconds: 31 });
    const listed = (await (await admin.get("/api/admin/videos")).json()) as AdminVideo[];
    expect(listed.find((v) => v.id === video.id)?.progress).toEqual(ticking.progress);

    const result = fabricatedResult(2.04);
    const tree = publishTree(owner.config.mediaRoot, video.id, 1, result);
    await deliver(ready(video.id, 1, result));
    const done = await getVideo(admin, video.id);
    expect(done).toEqual({
      ...video,
      processing_state: "ready",
      processing_error: null,
      playable: true,
      playable_at: expect.any(String),
      progress: { percent: 100, stage: "done", eta_seconds: 0 },
      duration_seconds: expect.closeTo(2.04, 5),
      renditions: expectedRenditions,
      thumbnail_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
      published_revision: 1,
      posters: [320, 640].map((width) => ({
        width,
        height: (width * 9) / 16,
        jpeg_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-${width}.jpg`,
        webp_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-${width}.webp`,
      })),
    });
    const stored = await row(video.id);
    expect(stored).toMatchObject({
      publishedRevision: 1,
      publishedPrefix: `videos/${video.id}/r1`,
      masterPlaylist: "master.m3u8",
      posters: result.posters,
      renditions: result.renditions,
    });
    expect(stored.readyAt).toBeInstanceOf(Date);
    expect(await owner.redis.exists(progressKey(video.id))).toBe(0);
    expect(existsSync(join(tree, "master.m3u8"))).toBe(true);
    expect(await stateMessages(video.id, 2)).toEqual(["processing@r1", "ready@r1"]);
  });

  test("error → processing_error; retry → 202 pending and the failed job goes back to waiting", async () => {
    const video = await createVideo(owner, admin);
    const worker = manualWorker();
    try {
      const job = await takeJob(worker, video.id, 1, "token-error");
      await deliver(processing(video.id));
      await job.moveToFailed(new Error("ffprobe found no video stream"), "token-error", false);
      expect(await job.getState()).toBe("failed");
    } finally {
      await worker.close();
    }
    const message = "The file has no video stream: it cannot be transcoded.";
    await deliver(failed(video.id, message));
    const broken = await getVideo(admin, video.id);
    expect(broken).toMatchObject({
      processing_state: "error",
      processing_error: message,
      progress: { percent: 0, stage: "failed", eta_seconds: null },
    });

    const retried = await admin.post(`/api/admin/videos/${video.id}/retry`);
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ ...video, processing_state: "pending", processing_error: null });
    const again = (await transcode.getJob(transcodeJobId(video.id, 1)))!;
    expect(await again.getState()).toBe("waiting");
    expect(again.attemptsMade).toBe(0);
    expect(again.data).toEqual({
      videoId: video.id,
      revision: 1,
      sourceKey: (await row(video.id)).sourceKey,
      outputPrefix: `videos/${video.id}/r1`,
      // Never published before: the job may start with a fast-start pass.
      fastStart: true,
    });
    expect((await admin.post(`/api/admin/videos/${video.id}/retry`)).status).toBe(409);

    // A retry whose job was trimmed from the queue enqueues it afresh.
    await deliver(processing(video.id), failed(video.id, message));
    await again.remove();
    expect(await transcode.getJob(transcodeJobId(video.id, 1))).toBeUndefined();
    expect((await admin.post(`/api/admin/videos/${video.id}/retry`)).status).toBe(202);
    expect(await (await transcode.getJob(transcodeJobId(video.id, 1)))?.getState()).toBe("waiting");
    expect(await stateMessages(video.id, 4)).toEqual([
      "processing@r1",
      "error@r1",
      "processing@r1",
      "error@r1",
    ]);
  });

  test("an error report delivered again after the admin's retry leaves the retried video pending", async () => {
    const video = await createVideo(owner, admin);
    const lastWord: Extract<TranscodeReport, { type: "error" }> = {
      type: "error",
      videoId: video.id,
      revision: 1,
      message: "The file is truncated or incomplete.",
      at: at(),
      attempt: 1,
      worker: "test-transcoder-1",
    };
    await deliver(processing(video.id), lastWord);
    expect((await getVideo(admin, video.id)).processing_state).toBe("error");
    expect((await admin.post(`/api/admin/videos/${video.id}/retry`)).status).toBe(202);
    // The same report job once more (its consumer died after applying it): a redelivery, not news.
    await deliver(lastWord);
    expect(await getVideo(admin, video.id)).toMatchObject({
      processing_state: "pending",
      processing_error: null,
    });
    // The retried job's own error, a later attempt, still fails it.
    await deliver({ ...lastWord, attempt: 2, at: at() });
    expect((await getVideo(admin, video.id)).processing_state).toBe("error");
    expect(await stateMessages(video.id, 3)).toEqual(["processing@r1", "error@r1", "error@r1"]);
  });

  test("duplicate and late events change nothing: one transition each, the published tree stays", async () => {
    const video = await createVideo(owner, admin);
    const tree = publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(processing(video.id), processing(video.id), ready(video.id), ready(video.id));
    const first = await getVideo(admin, video.id);
    expect(first.processing_state).toBe("ready");
    // Late ones: a redelivered `processing`, and an `error` from an attempt that lost the race.
    await deliver(processing(video.id, 1, 2), failed(video.id, "late failure"));
    expect(await getVideo(admin, video.id)).toEqual(first);
    expect(existsSync(join(tree, "master.m3u8"))).toBe(true);
    expect(await outcomes(video.id)).toEqual([
      { type: "processing", revision: 1, applied: true },
      { type: "processing", revision: 1, applied: false },
      { type: "ready", revision: 1, applied: true },
      { type: "ready", revision: 1, applied: false },
      { type: "processing", revision: 1, applied: false },
      { type: "error", revision: 1, applied: false },
    ]);
    expect(await stateMessages(video.id, 2)).toEqual(["processing@r1", "ready@r1"]);
  });

  test("an error from an attempt that lost the job does not outrank the holder's ready: published, tree kept", async () => {
    const video = await createVideo(owner, admin);
    // Attempt 1's lock lapsed and attempt 2 took the job; attempt 1 failed and said so before it knew.
    await deliver(processing(video.id), processing(video.id, 1, 2), failed(video.id, "lost its staging"));
    expect((await getVideo(admin, video.id)).processing_state).toBe("error");
    const tree = publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(ready(video.id));
    const after = await getVideo(admin, video.id);
    expect(after).toMatchObject({ processing_state: "ready", processing_error: null });
    expect((await row(video.id)).publishedPrefix).toBe(outputPrefixFor(video.id, 1));
    expect(existsSync(join(tree, "master.m3u8"))).toBe(true);
    expect(await stateMessages(video.id, 3)).toEqual(["processing@r1", "error@r1", "ready@r1"]);
  });

  test("an event for a replaced revision is ignored and its unpublished output deleted", async () => {
    const video = await createVideo(owner, admin);
    await deliver(processing(video.id));
    // Replaced while r1 was being transcoded; r1's transcoder still finishes and publishes.
    expect(
      (
        await replaceFile(
          owner,
          admin,
          video.id,
          await Bun.file(media((await row(video.id)).sourceKey)).bytes(),
        )
      ).status,
    ).toBe(202);
    const pending = await getVideo(admin, video.id);
    expect(pending).toMatchObject({ revision: 2, processing_state: "pending" });
    const staleTree = publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(ready(video.id, 1), processing(video.id, 1, 2), failed(video.id, "r1 failed late"));
    expect(await getVideo(admin, video.id)).toEqual(pending);
    expect(existsSync(staleTree)).toBe(false);
    expect((await row(video.id)).publishedRevision).toBeNull();
    expect((await outcomes(video.id)).filter((o) => o.applied)).toEqual([
      { type: "processing", revision: 1, applied: true },
    ]);
  });

  test("events for a deleted video are ignored and the output its job published is removed", async () => {
    const video = await createVideo(owner, admin);
    await deliver(processing(video.id));
    expect((await owner.runtime.storage.stat((await row(video.id)).sourceKey)) !== null).toBe(true);
    // Deleted while its transcoder was still at work; the transcoder publishes anyway, then reports.
    const deleted = await admin.request("DELETE", `/api/admin/videos/${video.id}`);
    expect(deleted.status).toBe(204);
    const tree = publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(ready(video.id), failed(video.id, "too late"), processing(video.id, 1, 2));
    expect(existsSync(tree)).toBe(false);
    expect((await outcomes(video.id)).map((o) => o.applied)).toEqual([true, false, false, false]);
    expect((await admin.get(`/api/admin/videos/${video.id}`)).status).toBe(404);
  });

  test("replacing the file keeps r1 published until r2 is ready; then r1's tree is deleted", async () => {
    const video = await createVideo(owner, admin);
    const r1 = publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(processing(video.id), ready(video.id));
    const live = await getVideo(admin, video.id);
    expect(live.processing_state).toBe("ready");

    const source = await Bun.file(media((await row(video.id)).sourceKey)).bytes();
    expect((await replaceFile(owner, admin, video.id, source)).status).toBe(202);
    const replacing = await getVideo(admin, video.id);
    // r2 is pending, r1 is still what viewers get.
    expect(replacing).toEqual({
      ...live,
      revision: 2,
      processing_state: "pending",
      progress: { percent: 0, stage: "queued", eta_seconds: null },
    });
    expect(await row(video.id)).toMatchObject({
      publishedRevision: 1,
      publishedPrefix: `videos/${video.id}/r1`,
    });
    expect(existsSync(join(r1, "master.m3u8"))).toBe(true);

    // r1's events redelivered now must neither change the state nor delete the tree being watched.
    await deliver(ready(video.id, 1), processing(video.id, 1, 2));
    expect(await getVideo(admin, video.id)).toEqual(replacing);
    expect(existsSync(join(r1, "master.m3u8"))).toBe(true);

    await deliver(processing(video.id, 2));
    expect((await getVideo(admin, video.id)).processing_state).toBe("processing");
    expect(existsSync(join(r1, "master.m3u8"))).toBe(true);
    // A tick from r1's transcoder is not r2's progress.
    await reporter.progress({
      videoId: video.id,
      revision: 1,
      stage: "encoding",
      percent: 90,
      etaSeconds: 2,
    });
    expect((await getVideo(admin, video.id)).progress).toEqual({
      percent: 0,
      stage: "processing",
      eta_seconds: null,
    });
    await reporter.progress({
      videoId: video.id,
      revision: 2,
      stage: "thumbnails",
      percent: 97,
      etaSeconds: 1,
    });
    expect((await getVideo(admin, video.id)).progress).toEqual({
      percent: 97,
      stage: "thumbnails",
      eta_seconds: 1,
    });
    const r2Result = fabricatedResult(3.5);
    const r2 = publishTree(owner.config.mediaRoot, video.id, 2, r2Result);
    await deliver(ready(video.id, 2, r2Result));
    expect(await getVideo(admin, video.id)).toMatchObject({
      revision: 2,
      processing_state: "ready",
      duration_seconds: 3.5,
    });
    expect(await row(video.id)).toMatchObject({
      publishedRevision: 2,
      publishedPrefix: `videos/${video.id}/r2`,
    });
    expect(existsSync(r1)).toBe(false);
    expect(existsSync(join(r2, "master.m3u8"))).toBe(true);

    // A straggler of r1 published after r2 went live: ignored, and its output removed.
    publishTree(owner.config.mediaRoot, video.id, 1);
    await deliver(ready(video.id, 1));
    expect(existsSync(r1)).toBe(false);
    expect(existsSync(join(r2, "master.m3u8"))).toBe(true);
    expect((await getVideo(admin, video.id)).processing_state).toBe("ready");
    expect(await stateMessages(video.id, 4)).toEqual([
      "processing@r1",
      "ready@r1",
      "processing@r2",
      "ready@r2",
    ]);
  });
});

describe("replicas", () => {
  test("two consuming replicas apply and publish every state change exactly once", async () => {
    const second = await startTestApi({}, { shareWith: owner });
    try {
      const list = await Promise.all(Array.from({ length: 6 }, () => createVideo(owner, admin)));
      // Each change reported three times at once (a transcoder retrying its report), to both replicas.
      const burst = async (make: (id: number) => TranscodeReport) => {
        await Promise.all(
          list.flatMap((v) => [make(v.id), make(v.id), make(v.id)]).map((e) => reporter.report(e)),
        );
        await settle();
      };
      await burst((id) => processing(id));
      for (const v of list) publishTree(owner.config.mediaRoot, v.id, 1);
      await burst((id) => ready(id));

      for (const v of list) {
        expect((await getVideo(admin, v.id)).processing_state).toBe("ready");
        const applied = (await outcomes(v.id)).filter((o) => o.applied).map((o) => o.type);
        expect(applied.sort()).toEqual(["processing", "ready"]);
        expect((await outcomes(v.id)).length).toBe(6);
        expect(await stateMessages(v.id, 2)).toEqual(["processing@r1", "ready@r1"]);
        expect(existsSync(join(treeOf(v.id, 1), "master.m3u8"))).toBe(true);
      }
    } finally {
      await second.stop();
    }
  });

  test("events reported while no api consumes are applied once a replica starts again", async () => {
    await consumer.stop();
    const video = await createVideo(owner, admin);
    publishTree(owner.config.mediaRoot, video.id, 1);
    await reporter.report(processing(video.id));
    await reporter.report(ready(video.id));
    await Bun.sleep(300);
    expect((await getVideo(admin, video.id)).processing_state).toBe("pending");
    expect((await events.getJobCounts("wait")).wait).toBe(2);

    consumer = await startTestApi({}, { shareWith: owner });
    await settle();
    const done = await getVideo(admin, video.id);
    expect(done).toMatchObject({ processing_state: "ready", renditions: expectedRenditions });
    expect((await outcomes(video.id)).find((o) => o.type === "ready")?.applied).toBe(true);
    expect(await stateMessages(video.id, 1)).toContain("ready@r1");
  });
});

describe("reconcile", () => {
  test("a pending video whose job vanished from the queue is enqueued again", async () => {
    const video = await createVideo(owner, admin);
    await (await transcode.getJob(transcodeJobId(video.id, 1)))!.remove();
    const outcome = await owner.runtime.reconcile();
    expect(outcome.requeued).toBeGreaterThanOrEqual(1);
    const job = await transcode.getJob(transcodeJobId(video.id, 1));
    expect(await job?.getState()).toBe("waiting");
    expect(job!.data).toEqual({
      videoId: video.id,
      revision: 1,
      sourceKey: (await row(video.id)).sourceKey,
      outputPrefix: `videos/${video.id}/r1`,
      // Never published before: the job may start with a fast-start pass.
      fastStart: true,
    });
    // Nothing to do the second time round.
    const before = job!.timestamp;
    await owner.runtime.reconcile();
    expect((await transcode.getJob(transcodeJobId(video.id, 1)))!.timestamp).toBe(before);
    expect((await getVideo(admin, video.id)).processing_state).toBe("pending");
  });

  test("a job that stalled out (transcoder died) marks the video error with a readable message", async () => {
    const video = await createVideo(owner, admin);
    // The transcoder takes the job, says so, and dies: its lock runs out and is never renewed.
    const worker = manualWorker({ lockDuration: 300, stalledInterval: 250 });
    try {
      const job = await takeJob(worker, video.id, 1, "token-stall");
      await deliver(processing(video.id));
      await Bun.sleep(400);
      // BullMQ's stalled checker finds it (two sweeps) and, past maxStalledCount, marks it for failure
      // and hands it back to the queue; the next transcoder to take it fails it, unprocessed.
      await worker.startStalledCheckTimer();
      await eventually("the job to be found stalled", async () => (await job.getState()) === "waiting", 5000);
      const again = await takeJob(worker, video.id, 1, "token-next");
      expect(again.deferredFailure).toMatch(/stalled/i);
      await worker.processJob(again, "token-next", () => false);
      expect(await job.getState()).toBe("failed");
      expect((await transcode.getJob(job.id!))!.failedReason).toBe("job stalled more than allowable limit");
    } finally {
      await worker.close();
    }
    expect((await getVideo(admin, video.id)).processing_state).toBe("processing");
    const outcome = await owner.runtime.reconcile();
    expect(outcome.settled).toBeGreaterThanOrEqual(1);
    const broken = await getVideo(admin, video.id);
    expect(broken.processing_state).toBe("error");
    expect(broken.processing_error).toBe(
      "The transcoder stopped while working on this video too many times (it may have crashed or run out of memory).",
    );
    expect(await stateMessages(video.id, 2)).toEqual(["processing@r1", "error@r1"]);
  });

  test("a job completed with a result whose ready event never arrived is applied from its returnvalue", async () => {
    const video = await createVideo(owner, admin);
    const worker = manualWorker();
    const result = fabricatedResult(2.5);
    try {
      const job = await takeJob(worker, video.id, 1, "token-done");
      await deliver(processing(video.id));
      publishTree(owner.config.mediaRoot, video.id, 1, result);
      await job.moveToCompleted(result, "token-done", false);
      expect(await job.getState()).toBe("completed");
    } finally {
      await worker.close();
    }
    expect((await getVideo(admin, video.id)).processing_state).toBe("processing");
    const outcome = await owner.runtime.reconcile();
    expect(outcome.settled).toBeGreaterThanOrEqual(1);
    expect(await getVideo(admin, video.id)).toMatchObject({
      processing_state: "ready",
      duration_seconds: 2.5,
      renditions: expectedRenditions,
      thumbnail_url: `${PUBLIC_URL}/api/video/${video.id}/thumbnails/poster-640.jpg`,
    });
    expect(await row(video.id)).toMatchObject({
      publishedRevision: 1,
      publishedPrefix: `videos/${video.id}/r1`,
    });
    expect(existsSync(join(treeOf(video.id, 1), "master.m3u8"))).toBe(true);
    // The ready event, arriving after all, changes nothing.
    await deliver(ready(video.id, 1, result));
    expect((await outcomes(video.id)).find((o) => o.type === "ready")?.applied).toBe(false);
    expect(existsSync(join(treeOf(video.id, 1), "master.m3u8"))).toBe(true);
    expect(await stateMessages(video.id, 2)).toEqual(["processing@r1", "ready@r1"]);
  });
});
