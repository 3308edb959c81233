import { describe, expect, test } from "bun:test";
import type { FarmJob, FarmOverview, FarmTranscoder } from "../api/types.ts";
import { applyFarmTick, keepNewerProgress, type ProgressTick } from "./farm-ticks.ts";

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

const tick = (id: number, percent: number, revision = 1): ProgressTick => ({
  type: "video.progress",
  id,
  revision,
  state: "processing",
  percent,
  stage: "encoding",
  eta_seconds: 12,
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

  test("takes the read as it is for a new attempt of the job, and on the first read", () => {
    const shown = farm([transcoder("a", [job(1, 70)])]);
    const read = farm([transcoder("b", [job(1, null, 2)])]);
    expect(percentOf(keepNewerProgress(shown, read), 1)).toBeUndefined();
    expect(keepNewerProgress(null, read)).toBe(read);
  });
});
