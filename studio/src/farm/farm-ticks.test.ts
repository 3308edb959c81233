import { describe, expect, test } from "bun:test";
import type { FarmJob, FarmOverview, FarmTranscoder } from "../api/types.ts";
import { applyFarmTick, keepNewerProgress, type ProgressTick, tickRun } from "./farm-ticks.ts";

const job = (videoId: number, percent: number | null, attempt = 1): FarmJob => ({
  job_id: `video-${videoId}-r1`,
  video_id: videoId,
  revision: 1,
  attempt,
  started_at: "2026-12-01T08:00:00.000Z",
  title: `Video ${videoId}`,
  progress: percent === null ? null : { percent, stage: "encoding", eta_seconds: 30 },
});

const transcoder = (name: string, jobs: FarmJob[]): FarmTranscoder => ({
  name,
  host: "host",
  pid: 1,
  hwaccel: "none",
  encoder: "libx264",
  gpu: false,
  concurrency: 2,
  started_at: "2026-12-01T08:00:00.000Z",
  uptime_seconds: 60,
  last_seen_at: "2026-12-01T08:01:00.000Z",
  last_seen_seconds_ago: 1,
  jobs,
});

const farm = (transcoders: FarmTranscoder[], quiet: FarmTranscoder[] = []): FarmOverview => ({
  transcoders,
  quiet_transcoders: quiet,
  queue: { waiting: 0, active: 1, delayed: 0, failed: 0 },
  throughput: { last_15_minutes: { completed: 0, failed: 0 }, last_hour: { completed: 0, failed: 0 } },
  dashboard_url: "http://localhost/admin/queues",
});

const tick = (id: number, percent: number, revision = 1, attempt?: number): ProgressTick => ({
  type: "video.progress",
  id,
  revision,
  state: "processing",
  percent,
  stage: "encoding",
  eta_seconds: 12,
  ...(attempt === undefined ? {} : { attempt }),
});

const percentOf = (shown: FarmOverview | "not-shown", videoId: number) =>
  shown === "not-shown"
    ? "not-shown"
    : shown.transcoders.flatMap((t) => t.jobs).find((j) => j.video_id === videoId)?.progress?.percent;

describe("a progress tick on the farm", () => {
  test("moves the bar of the job it belongs to, on whichever transcoder runs it", () => {
    const shown = farm([transcoder("a", [job(1, 10)]), transcoder("b", [job(2, null), job(3, 50)])]);
    const ticked = applyFarmTick(shown, tick(2, 20));
    expect(percentOf(ticked, 2)).toBe(20);
    expect(percentOf(ticked, 1)).toBe(10);
    expect(percentOf(ticked, 3)).toBe(50);
  });

  test("never moves a bar back, and ignores another revision's ticks", () => {
    const shown = farm([transcoder("a", [job(1, 40)])]);
    expect(percentOf(applyFarmTick(shown, tick(1, 30)), 1)).toBe(40);
    expect(applyFarmTick(shown, tick(1, 60, 2))).toBe("not-shown");
  });

  test("a new run's bar follows its own ticks, never the run before it", () => {
    // Run 1 crashed at 80 %; run 2 is listed before its first tick.
    const shown = farm([transcoder("a", [job(1, null, 2)])]);
    // Run 1's late tick is no measure of run 2: nothing moves, and there is nothing to read again.
    const late = applyFarmTick(shown, tick(1, 80, 1, 1));
    expect(late).toBe(shown);
    // Run 2's ticks move its bar from the start.
    const first = applyFarmTick(shown, tick(1, 5, 1, 2));
    expect(percentOf(first, 1)).toBe(5);
    if (first === "not-shown") throw new Error("run 2's tick was not placed");
    expect(percentOf(applyFarmTick(first, tick(1, 9, 1, 2)), 1)).toBe(9);
    // A run later than the one shown is news: the farm is read again.
    expect(applyFarmTick(first, tick(1, 1, 1, 3))).toBe("not-shown");
    // An older transcoder's tick names no run: taken for the run shown.
    expect(percentOf(applyFarmTick(first, tick(1, 12)), 1)).toBe(12);
  });

  test("names the run a tick is about", () => {
    expect(tickRun(tick(4, 10, 2, 3))).toBe("4:2:3");
    expect(tickRun(tick(4, 10, 2))).toBe("4:2:?");
  });

  test("a job no online transcoder runs is news: the farm is to be read again", () => {
    const quietOne = transcoder("gone", [job(5, 10)]);
    expect(applyFarmTick(farm([transcoder("a", [])], [quietOne]), tick(5, 20))).toBe("not-shown");
  });
});

describe("the farm read again", () => {
  test("keeps a running job's progress where the socket took it further", () => {
    const shown = farm([transcoder("a", [job(1, 70), job(2, 10)])]);
    const read = farm([transcoder("a", [job(1, 55), job(2, 35)])]);
    const kept = keepNewerProgress(shown, read);
    expect(percentOf(kept, 1)).toBe(70);
    expect(percentOf(kept, 2)).toBe(35);
  });

  test("a transcoder gone quiet keeps the bar it had when last seen running", () => {
    const shown = farm([transcoder("a", [job(1, 42)])]);
    const read = farm([], [transcoder("a", [job(1, null)])]);
    const kept = keepNewerProgress(shown, read);
    expect(kept.quiet_transcoders[0]!.jobs[0]!.progress?.percent).toBe(42);
    // And on every read after, from the quiet card shown.
    expect(keepNewerProgress(kept, read).quiet_transcoders[0]!.jobs[0]!.progress?.percent).toBe(42);
  });

  test("takes the read as it is for a new attempt of the job, and on the first read", () => {
    const shown = farm([transcoder("a", [job(1, 70)])]);
    const read = farm([transcoder("b", [job(1, null, 2)])]);
    expect(percentOf(keepNewerProgress(shown, read), 1)).toBeUndefined();
    expect(keepNewerProgress(null, read)).toBe(read);
  });
});
