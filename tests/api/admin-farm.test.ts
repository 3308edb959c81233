// The farm view over HTTP with a real transcoder (the worker `bun transcoder/main.ts` runs, in this
// process) on the api's Redis: its heartbeat, what it runs, queue depth, throughput from the job
// history, a failed job and its Retry, and a video deleted before the Retry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { progressChannel, progressKey } from "../../contract/progress.ts";
import { TRANSCODERS_KEY, TRANSCODERS_SEEN_KEY } from "../../contract/transcoder-heartbeats.ts";
import { Heartbeat } from "../../transcoder/heartbeat.ts";
import { ADMIN_ENV, type AdminVideo, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  type InProcessTranscoder,
  startInProcessTranscoder,
  untilState,
} from "../support/farm.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

interface Transcoder {
  name: string;
  host: string;
  hwaccel: string;
  encoder: string;
  gpu: boolean;
  concurrency: number;
  started_at: string;
  uptime_seconds: number;
  last_seen_at: string;
  last_seen_seconds_ago: number;
  jobs: Array<{
    job_id: string;
    video_id: number;
    revision: number;
    attempt: number;
    started_at: string;
    title: string | null;
    progress: { percent: number; stage: string; eta_seconds: number | null } | null;
  }>;
}
interface Farm {
  transcoders: Transcoder[];
  quiet_transcoders: Transcoder[];
  queue: { waiting: number; active: number; delayed: number; failed: number };
  throughput: Record<"last_15_minutes" | "last_hour", { completed: number; failed: number }>;
  dashboard_url: string;
}
interface FailedJob {
  job_id: string;
  video_id: number | null;
  revision: number | null;
  attempts_made: number;
  error: string;
  failed_at: string | null;
  title: string | null;
  video_state: string | null;
  current: boolean;
}

const WORKER = "farm-test-worker";
let api: TestApi;
let admin: Client;
let worker: InProcessTranscoder | null = null;
const workDir = mkdtempSync(join(tmpdir(), "vf-admin-farm-"));

beforeAll(async () => {
  api = await startTestApi(
    { ...ADMIN_ENV, TRANSCODE_ATTEMPTS: "2", TRANSCODE_BACKOFF_SECONDS: "1" },
    { captureLogs: true },
  );
  admin = await adminClient(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const json = async <T>(response: Response, status = 200): Promise<T> => {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
};
const farm = async () => json<Farm>(await admin.get("/api/admin/farm"));
const failedJobs = async () => json<FailedJob[]>(await admin.get("/api/admin/farm/failed"));
const retry = (jobId: string) => admin.post(`/api/admin/farm/failed/${jobId}/retry`);

/** Passes the container sniffing (an MP4's first bytes), then nothing FFmpeg can decode. */
/** A source that takes the transcoder a few seconds: its job is seen running, ticks and all. */
const slowSource = async (name: string) =>
  new Uint8Array(await Bun.file(await farmSource(workDir, name, 8, 640, 360)).arrayBuffer());

/** Behind the api's back, as a replacement does when its discard finds the old run still going. */
const bumpRevision = (videoId: number) =>
  api.database.db.execute(sql`UPDATE videos SET revision = revision + 1 WHERE id = ${videoId}`);

async function brokenMp4(): Promise<Uint8Array> {
  const real = await tinyMp4Bytes();
  const bytes = new Uint8Array(64 * 1024);
  bytes.set(real.subarray(0, 32));
  return bytes;
}

describe("the farm", () => {
  test("before any transcoder: nothing online, an empty queue, the dashboard's address", async () => {
    const empty = await farm();
    expect(empty.transcoders).toEqual([]);
    expect(empty.quiet_transcoders).toEqual([]);
    expect(empty.queue).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(empty.throughput).toEqual({
      last_15_minutes: { completed: 0, failed: 0 },
      last_hour: { completed: 0, failed: 0 },
    });
    expect(empty.dashboard_url).toBe(`${api.config.publicUrl.replace(/\/+$/, "")}/admin/queues`);
    // The dashboard is where the address says, for admins.
    const dashboard = await admin.get(new URL(empty.dashboard_url).pathname);
    expect(dashboard.status).toBe(200);

    // A video waits in the queue until a transcoder comes.
    await createVideo(api, admin, { title: "Waits for the farm" });
    expect((await farm()).queue.waiting).toBe(1);
  });

  test("a transcoder's heartbeat lists it; it takes the waiting job, and the job history names it", async () => {
    worker = await startInProcessTranscoder(api, WORKER, { TRANSCODER_LADDER: "360" });
    const online = await eventually("the transcoder online", async () => {
      const current = await farm();
      return current.transcoders.length > 0 ? current.transcoders : undefined;
    });
    expect(online).toHaveLength(1);
    expect(online[0]).toMatchObject({
      name: WORKER,
      hwaccel: "none",
      encoder: "libx264",
      gpu: false,
      concurrency: 1,
    });
    expect(online[0]!.host.length).toBeGreaterThan(0);
    expect(online[0]!.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(online[0]!.last_seen_at)).not.toBeNaN();
    expect(online[0]!.last_seen_seconds_ago).toBeGreaterThanOrEqual(0);
    expect(online[0]!.last_seen_seconds_ago).toBeLessThanOrEqual(15);

    const videos = await json<AdminVideo[]>(await admin.get("/api/admin/videos"));
    const waiting = videos.find((video) => video.title === "Waits for the farm")!;
    await untilState(admin, waiting.id, "ready");
    const history = await json<Array<{ worker: string; outcome: string; attempt: number }>>(
      await admin.get(`/api/admin/videos/${waiting.id}/attempts`),
    );
    expect(history).toEqual([expect.objectContaining({ worker: WORKER, outcome: "ready", attempt: 1 })]);
    const after = await farm();
    expect(after.throughput.last_15_minutes.completed).toBe(1);
    expect(after.throughput.last_hour.completed).toBe(1);
    expect(after.queue).toMatchObject({ waiting: 0, active: 0 });
  });

  test("a job in progress shows on its transcoder's heartbeat, with its own latest tick", async () => {
    const video = await createVideo(api, admin, {
      title: "Running now",
      file: await slowSource("running.mp4"),
    });
    // The heartbeat is written when the attempt starts, and its first tick (probing) at once after.
    const { running, stored } = await eventually(
      "the job on the heartbeat with a tick",
      async () => {
        const current = await farm();
        const job = current.transcoders[0]?.jobs.find((entry) => entry.video_id === video.id);
        const tick = progressChannel.decode((await api.redis.get(progressKey(video.id))) ?? "");
        if (job?.progress && tick.ok) return { running: job, stored: tick.value };
        const state = (await getVideo(admin, video.id)).processing_state;
        if (state === "ready") throw new Error("the job finished before its heartbeat was seen");
        return undefined;
      },
      30_000,
      10,
    );
    expect(running).toEqual({
      job_id: `video-${video.id}-r1`,
      video_id: video.id,
      revision: 1,
      attempt: 1,
      started_at: expect.any(String),
      title: "Running now",
      progress: {
        percent: expect.any(Number),
        stage: expect.any(String),
        eta_seconds: running.progress!.eta_seconds,
      },
    });
    expect(running.progress!.percent).toBeGreaterThanOrEqual(0);
    expect(running.progress!.percent).toBeLessThanOrEqual(100);
    expect(running.progress!.stage.length).toBeGreaterThan(0);
    // The worker numbers its ticks with the run the heartbeat lists (the studio tells runs apart by it).
    expect(stored).toMatchObject({ videoId: video.id, revision: 1, attempt: running.attempt });
    await untilState(admin, video.id, "ready");
    await eventually(
      "the heartbeat without the finished job",
      async () => (await farm()).transcoders[0]?.jobs.length === 0,
    );
  });

  test("a video deleted while its job runs: the run's failure is never listed", async () => {
    const before = (await farm()).queue.failed;
    const video = await createVideo(api, admin, {
      title: "Deleted mid-run",
      file: await slowSource("gone.mp4"),
    });
    await eventually("the job running", async () =>
      (await farm()).transcoders[0]?.jobs.some((entry) => entry.video_id === video.id),
    );
    // The delete cannot remove a job a transcoder holds: the run goes on without its source.
    expect((await admin.request("DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);
    await eventually("the run over", async () =>
      (await farm()).transcoders[0]?.jobs.every((entry) => entry.video_id !== video.id),
    );
    expect((await failedJobs()).map((job) => job.video_id)).not.toContain(video.id);
    expect((await farm()).queue.failed).toBe(before);
  });

  test("a failed job is listed with its error; Retry runs it again, the history keeps both runs", async () => {
    const video = await createVideo(api, admin, { title: "Broken", file: await brokenMp4() });
    const failed = await untilState(admin, video.id, "error");
    expect(failed.processing_error).toBeTruthy();
    const listed = (await failedJobs()).find((job) => job.video_id === video.id)!;
    expect(listed).toMatchObject({
      job_id: `video-${video.id}-r1`,
      revision: 1,
      title: "Broken",
      video_state: "error",
      current: true,
    });
    // The worker's refusal as the video's own error reads, never BullMQ's wording.
    expect(listed.error).toBe(failed.processing_error!);
    expect(Date.parse(listed.failed_at ?? "")).not.toBeNaN();
    expect((await farm()).queue.failed).toBe(1);

    const retried = await json<{ video_id: number; processing_state: string }>(
      await retry(listed.job_id),
      202,
    );
    expect(retried).toMatchObject({ video_id: video.id, revision: 1, processing_state: "pending" });
    expect(api.logs().filter((line) => line.audit === "video.retried")).toContainEqual(
      expect.objectContaining({ video_id: video.id, actor_email: ADMIN_ENV.ADMIN_EMAIL }),
    );
    // It fails again (the file is still broken): two runs, numbered on.
    await eventually("the second run's error", async () => {
      const history = await json<Array<{ attempt: number; outcome: string }>>(
        await admin.get(`/api/admin/videos/${video.id}/attempts`),
      );
      return history.length === 2 && history.every((run) => run.outcome === "error") ? history : undefined;
    });
    const history = await json<Array<{ attempt: number }>>(
      await admin.get(`/api/admin/videos/${video.id}/attempts`),
    );
    expect(history.map((run) => run.attempt)).toEqual([2, 1]);
    await untilState(admin, video.id, "error");
    expect((await farm()).throughput.last_15_minutes.failed).toBe(2);

    // A job that did not fail (the first video's, completed) is a 409; an unknown job a 404.
    const videos = await json<AdminVideo[]>(await admin.get("/api/admin/videos"));
    const done = videos.find((entry) => entry.title === "Waits for the farm")!;
    const refusal = await expectError(await retry(`video-${done.id}-r1`), 409);
    expect(refusal.body.reason).toBe("not_failed");
    await expectError(await retry("video-2147483647-r1"), 404);
    await expectError(await retry("not-a-job"), 404);
  });

  test("a video deleted since its job failed: 404, and the job is removed", async () => {
    const gone = await createVideo(api, admin, { title: "Deleted meanwhile", file: await brokenMp4() });
    await untilState(admin, gone.id, "error");
    const before = (await failedJobs()).find((job) => job.video_id === gone.id)!;
    expect(before.video_state).toBe("error");
    // Deleted behind the api's back (as when the delete found the job running: it could not remove it).
    await api.database.db.execute(sql`DELETE FROM videos WHERE id = ${gone.id}`);
    // Nothing can retry it: the list removes it rather than show a row without an action.
    expect((await failedJobs()).map((job) => job.video_id)).not.toContain(gone.id);
    const refusal = await expectError(await retry(before.job_id), 404);
    expect(refusal.body.detail).toBe("No transcode job of this id.");
  });

  test("a failed job of a file replaced since: removed from the list, and by a refused Retry", async () => {
    const listedOld = await createVideo(api, admin, { title: "Replaced, listed", file: await brokenMp4() });
    const retriedOld = await createVideo(api, admin, { title: "Replaced, retried", file: await brokenMp4() });
    await untilState(admin, listedOld.id, "error");
    await untilState(admin, retriedOld.id, "error");
    const ids = (await failedJobs()).map((job) => job.video_id);
    expect(ids).toContain(listedOld.id);
    expect(ids).toContain(retriedOld.id);
    await bumpRevision(listedOld.id);
    await bumpRevision(retriedOld.id);
    // A Retry read from an older list: refused, and the job goes.
    const refusal = await expectError(await retry(`video-${retriedOld.id}-r1`), 409);
    expect(refusal.body.reason).toBe("stale_revision");
    await expectError(await retry(`video-${retriedOld.id}-r1`), 404);
    expect((await failedJobs()).map((job) => job.video_id)).not.toContain(listedOld.id);
    await expectError(await retry(`video-${listedOld.id}-r1`), 404);
    expect((await failedJobs()).map((job) => job.video_id)).not.toContain(retriedOld.id);
  });

  test("a run that fails and is retried by the queue is in the history with its error, then the last one", async () => {
    // The next video's tree cannot be published: a file stands where its folder must go. Not the
    // input's fault, so the queue tries again (TRANSCODE_ATTEMPTS=2), and the second run fails too.
    // The id the next video gets: the identity sequence's next value (deleted rows leave gaps).
    const [row] = (await api.database.db.execute(
      sql.raw("SELECT (last_value + CASE WHEN is_called THEN 1 ELSE 0 END)::int AS next FROM videos_id_seq"),
    )) as unknown as [{ next: number }];
    const blocker = join(api.config.mediaRoot, "videos", String(row.next));
    mkdirSync(dirname(blocker), { recursive: true });
    writeFileSync(blocker, "not a folder");
    const video = await createVideo(api, admin, { title: "Unpublishable" });
    expect(video.id).toBe(row.next);
    const failed = await untilState(admin, video.id, "error", 60_000);
    expect(failed.processing_error).toStartWith("Transcoding failed after 2 attempts: ");
    const history = await json<
      Array<{ attempt: number; worker: string; outcome: string; error: string | null }>
    >(await admin.get(`/api/admin/videos/${video.id}/attempts`));
    expect(history.map(({ attempt, worker, outcome }) => ({ attempt, worker, outcome }))).toEqual([
      { attempt: 2, worker: WORKER, outcome: "error" },
      { attempt: 1, worker: WORKER, outcome: "failed" },
    ]);
    expect(history[0]!.error).toBe(failed.processing_error);
    expect(history[1]!.error?.length).toBeGreaterThan(0);
    rmSync(blocker, { force: true });
  });

  test("a running job carries its video's title and the latest tick of its own revision", async () => {
    const videos = await json<AdminVideo[]>(await admin.get("/api/admin/videos"));
    const video = videos.find((entry) => entry.title === "Waits for the farm")!;
    let nextAttempt = 1;
    const jobOf = (videoId: number) => ({
      jobId: `video-${videoId}-r1`,
      videoId,
      revision: 1,
      attempt: nextAttempt,
      startedAt: new Date().toISOString(),
    });
    // A transcoder's heartbeat as the worker writes it, naming the video and one deleted meanwhile.
    const busy = new Heartbeat({
      redis: api.redis,
      name: "busy-one",
      hwaccel: "none",
      concurrency: 2,
      jobs: () => [jobOf(video.id), jobOf(2147483646)],
      log: pino({ level: "silent" }),
    });
    const tick = (revision: number) =>
      progressChannel.encode({
        videoId: video.id,
        revision,
        stage: "encoding",
        percent: 42.25,
        etaSeconds: 12,
      });
    try {
      await api.redis.set(progressKey(video.id), tick(1));
      await busy.beat();
      const listed = (await farm()).transcoders.find((transcoder) => transcoder.name === "busy-one")!;
      expect(listed.jobs.map(({ title, progress }) => ({ title, progress }))).toEqual([
        { title: "Waits for the farm", progress: { percent: 42.3, stage: "encoding", eta_seconds: 12 } },
        { title: null, progress: null },
      ]);
      // A tick of another revision (the replaced file's next run) is not this job's progress.
      await api.redis.set(progressKey(video.id), tick(2));
      const again = (await farm()).transcoders.find((transcoder) => transcoder.name === "busy-one")!;
      expect(again.jobs[0]!.progress).toBeNull();
      // A crashed run's last tick (attempt 1) is not the next run's (attempt 2, listed before its first).
      const run = (attempt: number) =>
        progressChannel.encode({
          videoId: video.id,
          revision: 1,
          attempt,
          stage: "encoding",
          percent: 80,
          etaSeconds: 3,
        });
      nextAttempt = 2;
      await api.redis.set(progressKey(video.id), run(1));
      await busy.beat();
      const nextRun = (await farm()).transcoders.find((transcoder) => transcoder.name === "busy-one")!;
      expect(nextRun.jobs[0]).toMatchObject({ attempt: 2, progress: null });
      await api.redis.set(progressKey(video.id), run(2));
      const ticked = (await farm()).transcoders.find((transcoder) => transcoder.name === "busy-one")!;
      expect(ticked.jobs[0]!.progress).toEqual({ percent: 80, stage: "encoding", eta_seconds: 3 });
    } finally {
      await api.redis.del(progressKey(video.id));
      await busy.stop();
    }
  });

  test("liveness goes by Redis's clock: skewed hosts are listed, silent ones drop out, dead ones are forgotten", async () => {
    const log = pino({ level: "silent" });
    const hour = 3600_000;
    /** A transcoder on a host whose clock is `skewMs` off. */
    const skewed = (name: string, skewMs: number) =>
      new Heartbeat({
        redis: api.redis,
        name,
        hwaccel: "nvenc",
        concurrency: 2,
        jobs: () => [],
        log,
        now: () => Date.now() + skewMs,
      });
    // Two hours behind and two hours ahead: by their own stamps one was always stale, the other never.
    const behind = skewed("clock-behind", -2 * hour);
    const ahead = skewed("clock-ahead", 2 * hour);
    await behind.beat();
    await ahead.beat();
    const listed = (await farm()).transcoders;
    expect(listed.map((transcoder) => transcoder.name)).toEqual(["clock-ahead", "clock-behind", WORKER]);
    const [redisSeconds] = await api.redis.time();
    for (const transcoder of listed) {
      // Last seen by Redis's clock, within the few seconds this test takes, whatever the host's clock.
      expect(Math.abs(Date.parse(transcoder.last_seen_at) - Number(redisSeconds) * 1000)).toBeLessThan(
        60_000,
      );
      expect(transcoder.uptime_seconds).toBeLessThan(60);
    }

    // The ahead one crashes (no word): its last beat ages by Redis's clock, 20 s, then two hours.
    const stampAgo = async (name: string, ageMs: number) => {
      const [seconds] = await api.redis.time();
      await api.redis.zadd(TRANSCODERS_SEEN_KEY, Number(seconds) * 1000 - ageMs, name);
    };
    const uptimeBefore = listed.find((transcoder) => transcoder.name === "clock-ahead")!.uptime_seconds;
    await stampAgo("clock-ahead", 20_000);
    const withQuiet = await farm();
    expect(withQuiet.transcoders.map((transcoder) => transcoder.name)).toEqual(["clock-behind", WORKER]);
    expect(await api.redis.hexists(TRANSCODERS_KEY, "clock-ahead")).toBe(1);
    // Listed as gone quiet, not dropped: its silence by Redis's clock, its uptime stopped at its last beat.
    expect(withQuiet.quiet_transcoders).toHaveLength(1);
    const quiet = withQuiet.quiet_transcoders[0]!;
    expect(quiet).toMatchObject({ name: "clock-ahead", hwaccel: "nvenc", gpu: true, concurrency: 2 });
    expect(quiet.last_seen_seconds_ago).toBeGreaterThanOrEqual(20);
    expect(quiet.last_seen_seconds_ago).toBeLessThan(60);
    expect(quiet.uptime_seconds).toBeLessThanOrEqual(uptimeBefore + 1);
    // Forgotten on the next beat of any transcoder, without anyone opening the farm view.
    await stampAgo("clock-ahead", 2 * hour);
    await behind.beat();
    expect(await api.redis.hexists(TRANSCODERS_KEY, "clock-ahead")).toBe(0);
    expect(await api.redis.zscore(TRANSCODERS_SEEN_KEY, "clock-ahead")).toBeNull();
    expect((await farm()).quiet_transcoders).toEqual([]);
    // A field without its stamp (an older transcoder's write) is not listed and is removed.
    await api.redis.hset(TRANSCODERS_KEY, "unstamped", "{}");
    expect((await farm()).transcoders.map((transcoder) => transcoder.name)).toEqual(["clock-behind", WORKER]);
    expect(await api.redis.hexists(TRANSCODERS_KEY, "unstamped")).toBe(0);

    await behind.stop();
    await worker!.stop();
    worker = null;
    // Graceful stops leave at once: neither online nor quiet.
    expect((await farm()).transcoders).toEqual([]);
    expect((await farm()).quiet_transcoders).toEqual([]);
    expect(await api.redis.zcard(TRANSCODERS_SEEN_KEY)).toBe(0);
  });

  test("admins only", async () => {
    const viewer = await loggedInClient(api);
    await expectError(await viewer.get("/api/admin/farm"), 403);
    await expectError(await viewer.get("/api/admin/farm/failed"), 403);
    await expectError(await viewer.post("/api/admin/farm/failed/video-1-r1/retry"), 403);
    await expectError(await admin.post(`/api/admin/farm/failed/${"x".repeat(41)}/retry`), 400);
    await expectError(await admin.post("/api/admin/farm/failed/video-9999999999-r1/retry"), 404);
  });
});
