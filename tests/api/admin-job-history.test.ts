// The job history of a video (GET /api/admin/videos/:id/attempts) from the transcoders' reports as
// they reach the api through the reports queue: in order, out of order, twice, for a deleted video.
// A real worker's history is in admin-farm.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TranscodeReport } from "../../contract/transcode-reports.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { fabricatedResult } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

interface Attempt {
  revision: number;
  attempt: number;
  worker: string;
  started_at: string;
  finished_at: string | null;
  duration_seconds: number | null;
  outcome: string;
  error: string | null;
}

let api: TestApi;
let admin: Client;
let transcoder: TestTranscoder;

beforeAll(async () => {
  api = await startTestApi(ADMIN_ENV);
  admin = await adminClient(api);
  transcoder = new TestTranscoder(api);
});

afterAll(async () => {
  await transcoder?.close();
  await api?.stop();
});

/** Times a fixed distance apart, so durations are exact. */
const T0 = Date.parse("2026-12-01T09:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const worker = (n: number) => `transcoder-${n}`;

const processing = (videoId: number, attempt: number, w: number, s: number): TranscodeReport => ({
  type: "processing",
  videoId,
  revision: 1,
  attempt,
  worker: worker(w),
  at: at(s),
});
const attemptFailed = (videoId: number, attempt: number, w: number, s: number): TranscodeReport => ({
  type: "failed",
  videoId,
  revision: 1,
  attempt,
  worker: worker(w),
  message: `ffmpeg exited with code 137 (attempt ${attempt})`,
  at: at(s),
});
const ready = (videoId: number, attempt: number, w: number, s: number): TranscodeReport => ({
  type: "ready",
  videoId,
  revision: 1,
  attempt,
  worker: worker(w),
  result: fabricatedResult(),
  at: at(s),
});

/** Reports in the order given, each applied before the next. */
const deliver = (...reports: TranscodeReport[]) => transcoder.deliver(...reports);

const history = async (id: number): Promise<Attempt[]> => {
  const response = await admin.get(`/api/admin/videos/${id}/attempts`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as Attempt[];
};

describe("job history", () => {
  test("a failed attempt, a worker that vanished and the attempt that made it: the latest first", async () => {
    const video = await createVideo(api, admin);
    expect(await history(video.id)).toEqual([]);
    await deliver(
      processing(video.id, 1, 1, 0),
      attemptFailed(video.id, 1, 1, 30),
      processing(video.id, 2, 2, 40),
      // Worker 2 died mid-job; the stall check gave the job to worker 3 as attempt 3.
      processing(video.id, 3, 3, 100),
      ready(video.id, 3, 3, 172.5),
    );
    expect((await getVideo(admin, video.id)).processing_state).toBe("ready");
    expect(await history(video.id)).toEqual([
      {
        revision: 1,
        attempt: 3,
        worker: worker(3),
        started_at: at(100),
        finished_at: at(172.5),
        duration_seconds: 72.5,
        outcome: "ready",
        error: null,
      },
      {
        revision: 1,
        attempt: 2,
        worker: worker(2),
        started_at: at(40),
        finished_at: at(100),
        duration_seconds: 60,
        outcome: "interrupted",
        error: null,
      },
      {
        revision: 1,
        attempt: 1,
        worker: worker(1),
        started_at: at(0),
        finished_at: at(30),
        duration_seconds: 30,
        outcome: "failed",
        error: "ffmpeg exited with code 137 (attempt 1)",
      },
    ]);
  });

  test("reports out of order and delivered twice make the same history", async () => {
    const video = await createVideo(api, admin);
    // The finish before its start, the next attempt's start before the previous one's failure.
    await deliver(
      attemptFailed(video.id, 1, 1, 30),
      processing(video.id, 2, 1, 40),
      processing(video.id, 1, 1, 0),
      ready(video.id, 2, 1, 50),
      ready(video.id, 2, 1, 50),
      processing(video.id, 1, 1, 0),
    );
    const attempts = await history(video.id);
    expect(
      attempts.map(({ attempt, outcome, started_at, finished_at }) => [
        attempt,
        outcome,
        started_at,
        finished_at,
      ]),
    ).toEqual([
      [2, "ready", at(40), at(50)],
      [1, "failed", at(0), at(30)],
    ]);
  });

  test("a later attempt ends the open one whatever the workers' clocks say", async () => {
    const video = await createVideo(api, admin);
    // Worker 1's clock runs a minute ahead of worker 2's: attempt 2 "started" before attempt 1.
    await deliver(processing(video.id, 1, 1, 100), processing(video.id, 2, 2, 40), ready(video.id, 2, 2, 60));
    const attempts = await history(video.id);
    expect(
      attempts.map(({ attempt, outcome, finished_at, duration_seconds }) => [
        attempt,
        outcome,
        finished_at,
        duration_seconds,
      ]),
    ).toEqual([
      [2, "ready", at(60), 20],
      // Ended when attempt 2 started, but never before its own start.
      [1, "interrupted", at(100), 0],
    ]);
  });

  test("an attempt whose start lands after a later attempt's is closed at once", async () => {
    const video = await createVideo(api, admin);
    await deliver(processing(video.id, 2, 2, 40), processing(video.id, 1, 1, 0), ready(video.id, 2, 2, 50));
    const attempts = await history(video.id);
    expect(
      attempts.map(({ attempt, outcome, started_at, finished_at }) => [
        attempt,
        outcome,
        started_at,
        finished_at,
      ]),
    ).toEqual([
      [2, "ready", at(40), at(50)],
      [1, "interrupted", at(0), at(40)],
    ]);
  });

  test("the last failure is the video's error; a running attempt has no finish yet", async () => {
    const video = await createVideo(api, admin);
    await deliver(processing(video.id, 1, 1, 0));
    expect(await history(video.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "running", finished_at: null, duration_seconds: null }),
    ]);
    await deliver({
      type: "error",
      videoId: video.id,
      revision: 1,
      attempt: 1,
      worker: worker(1),
      message: "Transcoding failed after 1 attempt: out of memory",
      at: at(12),
    });
    const failedVideo = await getVideo(admin, video.id);
    expect(failedVideo.processing_state).toBe("error");
    expect(await history(video.id)).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: "error",
        error: "Transcoding failed after 1 attempt: out of memory",
        duration_seconds: 12,
      }),
    ]);
  });

  test("a report without its attempt (an older transcoder) ends the revision's open attempt", async () => {
    const video = await createVideo(api, admin);
    await deliver(processing(video.id, 1, 1, 0), {
      type: "ready",
      videoId: video.id,
      revision: 1,
      result: fabricatedResult(),
      at: at(9),
    });
    expect(await history(video.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "ready", duration_seconds: 9 }),
    ]);
  });

  test("a deleted video's history goes with it, and its late reports are dropped quietly", async () => {
    const video = await createVideo(api, admin);
    await deliver(processing(video.id, 1, 1, 0));
    expect((await admin.request("DELETE", `/api/admin/videos/${video.id}`)).status).toBe(204);
    await expectError(await admin.get(`/api/admin/videos/${video.id}/attempts`), 404);
    await deliver(attemptFailed(video.id, 1, 1, 5), processing(video.id, 2, 1, 6));
    // Every report was applied (none left failing or retried): deliver() checks the failed count.
  });

  test("admins only; bad ids are 400s", async () => {
    const video = await createVideo(api, admin);
    const viewer = await loggedInClient(api);
    await expectError(await viewer.get(`/api/admin/videos/${video.id}/attempts`), 403);
    await expectError(await admin.get("/api/admin/videos/abc/attempts"), 400);
    await expectError(await admin.get("/api/admin/videos/2147483647/attempts"), 404);
  });
});
