// A Redis that outlived its database (a reset, or a second install sharing it) still holds jobs whose
// ids the new database hands out again. Such a job is about another file: it is replaced, and its
// result never stands for the new video.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Worker } from "bullmq";
import Redis from "ioredis";
import { TRANSCODE_QUEUE, transcodeJobId } from "../../contract/transcode-jobs.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let admin: Client;
let connection: Redis;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV, { consumeEvents: false });
  admin = await adminClient(api);
  connection = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  connection?.disconnect();
  await api?.stop();
});

test("a finished job of another file under the revision's id is replaced, and its result not applied", async () => {
  const video = await createVideo(api, admin, { title: "After a reset" });
  const queue = api.runtime.transcodeQueue;
  // What the old database left: the same job id, another source, finished with a result.
  await (await queue.job(video.id, 1))!.remove();
  await queue.queue.add(
    "transcode",
    {
      videoId: video.id,
      revision: 1,
      sourceKey: "sources/an-older-install.mp4",
      outputPrefix: "videos/x/r1",
    },
    { jobId: transcodeJobId(video.id, 1) },
  );
  const worker = new Worker(TRANSCODE_QUEUE, async () => fabricatedResult(), { connection });
  await eventually("the stale job to finish", async () => (await queue.job(video.id, 1))?.isCompleted());
  await worker.close();

  expect(await api.runtime.reconcile()).toEqual({ requeued: 1, settled: 0 });
  const job = (await queue.job(video.id, 1))!;
  expect(await job.getState()).toBe("waiting");
  expect((await getVideo(admin, video.id)).processing_state).toBe("pending");

  // Enqueueing over a foreign job that waits replaces it too.
  await job.remove();
  await queue.queue.add(
    "transcode",
    { videoId: video.id, revision: 1, sourceKey: "sources/another.mp4", outputPrefix: "videos/x/r1" },
    { jobId: transcodeJobId(video.id, 1) },
  );
  const [row] = await api.database.db.query.videos.findMany({ where: (v, { eq }) => eq(v.id, video.id) });
  await queue.enqueue({ id: video.id, revision: 1, sourceKey: row!.sourceKey });
  expect((await queue.job(video.id, 1))!.data.sourceKey).toBe(row!.sourceKey);
}, 30_000);
