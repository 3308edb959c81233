// One transcoder as `bun transcoder/main.ts` starts it (startTranscoderService), in this process: its
// /health and /metrics around a job, and its shutdown with a job running (the grace period runs out,
// FFmpeg stops, the job goes back to the queue for another worker). Real api, Redis, PostgreSQL and
// FFmpeg; tests/e2e/transcoding-farm.test.ts runs the same worker as processes (kill -9, exit codes).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../dev/services.ts";
import { PIECE_PRIORITY } from "../../transcoder/chunks/flow.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo, sendAs } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  type InProcessTranscoder,
  startInProcessTranscoder,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { sample } from "../support/metrics.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { bullConnection, transcodeQueue } from "../support/transcoder.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-service-"));
let api: TestApi;
let admin: Client;
const workers: InProcessTranscoder[] = [];

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, TRANSCODE_ATTEMPTS: "3" });
  admin = await adminClient(api);
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop().catch(() => {})));
  await api?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** An in-process transcoder on the test api, its metrics server on a free port. */
async function startService(name: string, env: Record<string, string> = {}) {
  const worker = await startInProcessTranscoder(api, name, {
    TRANSCODER_METRICS_PORT: String(await freePort()),
    ...env,
  });
  workers.push(worker);
  const base = `http://127.0.0.1:${worker.service.metricsPort}`;
  return {
    ...worker,
    /** /health, or null while nothing answers. */
    health: () =>
      fetch(`${base}/health`).then(
        (response) => response,
        () => null,
      ),
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
  };
}

const stagingEntries = () => {
  const dir = join(api.config.mediaRoot, ".staging");
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe("a transcoder's /health and /metrics", () => {
  test("/health is 200 while it takes jobs, /metrics count the job it finished; stopped, nothing answers", async () => {
    const worker = await startService("measured");
    expect(worker.service.hwaccel).toBe("none");
    const health = await eventually("the worker's /health to say ok", async () => {
      const response = await worker.health();
      return response?.status === 200 ? response : undefined;
    });
    expect(await health.json()).toEqual({ status: "ok", worker: "measured" });

    const created = await createVideo(api, admin);
    await untilState(admin, created.id, "ready");
    const text = await worker.metrics();
    const measured = { worker: "measured" };
    expect(sample(text, "transcode_jobs_total", { ...measured, outcome: "ready" })).toBe(1);
    expect(sample(text, "transcode_jobs_total", { ...measured, outcome: "failed" })).toBe(0);
    expect(sample(text, "transcode_duration_seconds_count", { ...measured, outcome: "ready" })).toBe(1);
    expect(sample(text, "transcode_duration_seconds_sum", { ...measured, outcome: "ready" })).toBeGreaterThan(
      0,
    );
    expect(sample(text, "transcode_duration_seconds_bucket", { outcome: "ready", le: "+Inf" })).toBe(1);
    expect(sample(text, "transcode_realtime_factor_count", measured)).toBe(1);
    expect(sample(text, "transcode_queue_wait_seconds_count", measured)).toBe(1);
    expect(sample(text, "transcode_jobs_active", measured)).toBe(0);
    expect(sample(text, "process_cpu_seconds_total", measured)).toBeGreaterThan(0);

    await worker.stop();
    expect(await worker.health()).toBeNull();
    expect(worker.logs()).toContain("shutting down: no new jobs");
    expect(worker.logs()).toContain('"msg":"stopped"');
    // Asked twice (a second signal), the shutdown is the same one.
    await worker.service.stop("SIGINT");
    expect(worker.logs().match(/shutting down/g)).toHaveLength(1);
    // The next test expects an empty media root.
    expect((await sendAs(api, admin, "DELETE", `/api/admin/videos/${created.id}`)).status).toBe(204);
  }, 120_000);
});

describe("shutdown with a job running", () => {
  test("the grace period runs out: FFmpeg stops, the job is handed back and counted so, another worker finishes it", async () => {
    // Slow on purpose (two rungs, a slow preset), so the encode outlasts the 1 s grace period.
    const leaving = await startService("leaving", {
      TRANSCODER_SHUTDOWN_GRACE_SECONDS: "1",
      TRANSCODER_LADDER: "360,720",
      TRANSCODER_PRESET: "slower",
    });
    const created = await uploadFile(api, admin, await farmSource(scratch, "handback.mp4", 16));
    await eventually(
      "encoding under way",
      async () => (await getVideo(admin, created.id)).progress.stage === "encoding",
      60_000,
    );
    expect(sample(await leaving.metrics(), "transcode_jobs_active", { worker: "leaving" })).toBe(1);

    const stopped = leaving.service.stop("SIGTERM");
    // Shutting down: /health says so (503) for as long as the grace period and the hand-back take.
    const health = await eventually("/health 503", async () => {
      const response = await leaving.health();
      return response?.status === 503 ? response : undefined;
    });
    expect(await health.json()).toEqual({ status: "stopping", worker: "leaving" });
    await stopped;
    expect(leaving.logs()).toContain("grace period over: stopping FFmpeg and handing jobs back");
    expect(leaving.logs()).toContain("shutdown grace period over: job handed back to the queue");
    const counted = await leaving.service.metrics.registry.metrics();
    expect(sample(counted, "transcode_jobs_total", { outcome: "handed_back" })).toBe(1);
    expect(sample(counted, "transcode_jobs_total", { outcome: "failed" })).toBe(0);
    expect(sample(counted, "transcode_jobs_active")).toBe(0);
    // Back in the queue without using up an attempt, the video still processing, the attempt's staging gone.
    const job = await api.runtime.transcodeQueue.job(created.id, 1);
    expect(await job?.getState()).toBe("waiting");
    expect(job?.attemptsMade).toBe(0);
    expect((await getVideo(admin, created.id)).processing_state).toBe("processing");
    expect(stagingEntries()).toEqual([]);

    const taker = await startService("taker", { TRANSCODER_LADDER: "360" });
    const ready = await untilState(admin, created.id, "ready", 150_000);
    expect(ready.renditions.map((rendition) => rendition.name)).toEqual(["360p"]);
    expect(taker.logs()).toContain(`"job_id":"video-${created.id}-r1"`);
    expect(stagingEntries()).toEqual([]);
    await taker.stop();
  }, 240_000);
});

describe("jobs a worker refuses without retrying", () => {
  test("a payload off the contract and a source that vanished while the job waited: failed once, counted as error", async () => {
    // Queued while no worker runs: a video whose uploaded file then goes, and a job no api would send.
    const created = await createVideo(api, admin);
    const waiting = await api.runtime.transcodeQueue.job(created.id, 1);
    expect(waiting).toBeDefined();
    await rm(join(api.config.mediaRoot, waiting!.data.sourceKey));
    const connection = bullConnection(api);
    const queue = transcodeQueue(connection);
    const malformed = await queue.add("transcode", { videoId: "seven" } as never, {
      jobId: "malformed-1",
      attempts: 3,
    });

    const worker = await startService("refusing");
    const failed = await untilState(admin, created.id, "error");
    expect(failed.processing_error).toBe(
      "The uploaded file is no longer there (the video was deleted or its file replaced).",
    );
    const dropped = await eventually("the malformed job to fail", async () => {
      const job = await queue.getJob(malformed.id!);
      return (await job?.getState()) === "failed" ? job : undefined;
    });
    expect(dropped.failedReason).toStartWith("Malformed transcode job: ");
    expect(dropped.attemptsMade).toBe(1);
    expect(worker.logs()).toContain("dropped a malformed transcode job");
    expect(worker.logs()).toContain("job dropped: its source file is gone");
    const text = await worker.metrics();
    expect(sample(text, "transcode_jobs_total", { outcome: "error" })).toBe(2);
    expect(sample(text, "transcode_jobs_total", { outcome: "failed" })).toBe(0);

    await queue.close();
    connection.disconnect();
    await worker.stop();
  }, 120_000);
});

describe("a film's pieces behind the video jobs", () => {
  test("a piece that waited longer than FILM_PIECES_MAX_WAIT_SECONDS joins their line, behind them", async () => {
    const worker = await startService("ageing", { FILM_PIECES_MAX_WAIT_SECONDS: "1" });
    // Not serving jobs: the test looks at the queue as a busy farm would leave it.
    await worker.service.farm.worker.pause(true);
    const connection = bullConnection(api);
    const queue = transcodeQueue(connection);
    const upload = await queue.add("transcode", { videoId: "queued" } as never, { jobId: "aged-upload" });
    const piece = await queue.add("piece", {} as never, {
      jobId: "video-99-r1-f0aged-chunk-00000",
      priority: PIECE_PRIORITY,
      timestamp: Date.now() - 5_000,
    });
    try {
      await eventually(
        "the piece to join the line",
        async () => (await queue.getJobState(piece.id!)) === "waiting" || null,
        30_000,
        100,
      );
      expect(await queue.getRanges(["wait"], 0, -1, true)).toEqual([upload.id!, piece.id!]);
      expect(worker.logs()).toContain("film pieces waited too long: one joins the line of the video jobs");
    } finally {
      await Promise.all([upload.remove(), piece.remove()]);
      await queue.close();
      connection.disconnect();
      await worker.stop();
    }
  }, 60_000);
});
