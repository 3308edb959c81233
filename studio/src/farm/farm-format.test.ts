import { describe, expect, test } from "bun:test";
import {
  countedOn,
  encoderLabel,
  failedAgain,
  failedCount,
  failureKey,
  formatAge,
  formatUptime,
  retriedMessage,
  retryRefusal,
  transcoderStatus,
} from "./farm-format.ts";

describe("how the Farm page writes a transcoder", () => {
  test("its encoder: CPU or GPU as the server says, and what encodes", () => {
    expect(encoderLabel({ hwaccel: "none", encoder: "libx264", gpu: false })).toEqual({
      kind: "CPU",
      detail: "libx264",
    });
    expect(encoderLabel({ hwaccel: "nvenc", encoder: "h264_nvenc", gpu: true })).toEqual({
      kind: "GPU",
      detail: "h264_nvenc (NVENC)",
    });
    expect(encoderLabel({ hwaccel: "cuda-decode", encoder: "libx264", gpu: true })).toEqual({
      kind: "GPU",
      detail: "CUDA decode, libx264",
    });
    // A mode the studio does not know: the server's `gpu` decides, not a guess from the name.
    expect(encoderLabel({ hwaccel: "qsv", encoder: "h264_qsv", gpu: true })).toEqual({
      kind: "GPU",
      detail: "qsv, h264_qsv",
    });
    expect(encoderLabel({ hwaccel: "vaapi-sw", encoder: "libx264", gpu: false })).toEqual({
      kind: "CPU",
      detail: "vaapi-sw, libx264",
    });
  });

  test("online only while its heartbeat is known to be recent", () => {
    expect(transcoderStatus(false, 3, false)).toBe("online");
    expect(transcoderStatus(false, 15, false)).toBe("online");
    // Counted on past the quiet mark, or no fresh read: no longer known to be online.
    expect(transcoderStatus(false, 15.5, false)).toBe("unconfirmed");
    expect(transcoderStatus(false, 3, true)).toBe("unconfirmed");
    expect(transcoderStatus(true, 40, false)).toBe("quiet");
    expect(transcoderStatus(true, 40, true)).toBe("quiet");
  });

  test("the failed list's count says when the queue keeps more than are listed", () => {
    expect(failedCount(3, 3)).toBe("3 kept by the queue");
    expect(failedCount(3, null)).toBe("3 kept by the queue");
    expect(failedCount(100, 1234)).toBe("The latest 100 of 1,234");
  });

  test("a retried job's notice goes once the job is listed failed again, later", () => {
    const retried = { jobId: "video-3-r1", failedAt: "2026-12-01T08:00:00.000Z" };
    expect(failedAgain(retried, [])).toBe(false);
    expect(failedAgain(retried, [{ job_id: "video-3-r1", failed_at: "2026-12-01T08:00:00.000Z" }])).toBe(
      false,
    );
    expect(failedAgain(retried, [{ job_id: "video-4-r1", failed_at: "2026-12-01T09:00:00.000Z" }])).toBe(
      false,
    );
    expect(failedAgain(retried, [{ job_id: "video-3-r1", failed_at: "2026-12-01T08:00:05.000Z" }])).toBe(
      true,
    );
    expect(failureKey({ job_id: "video-3-r1", failed_at: "2026-12-01T08:00:05.000Z" })).toBe(
      "video-3-r1:2026-12-01T08:00:05.000Z",
    );
  });

  test("uptime in its two largest units", () => {
    expect(formatUptime(-3)).toBe("0 s");
    expect(formatUptime(45.9)).toBe("45 s");
    expect(formatUptime(60)).toBe("1 min");
    expect(formatUptime(59 * 60 + 59)).toBe("59 min");
    expect(formatUptime(3 * 3600 + 5 * 60)).toBe("3 h 05 min");
    expect(formatUptime(2 * 86400 + 4 * 3600 + 59 * 60)).toBe("2 d 4 h");
  });

  test("the last heartbeat's age", () => {
    expect(formatAge(0)).toBe("just now");
    expect(formatAge(1.9)).toBe("just now");
    expect(formatAge(8)).toBe("8 s ago");
    expect(formatAge(200)).toBe("3 min ago");
    expect(formatAge(7300)).toBe("2 h ago");
  });

  test("ages count on from the server's figure by the time since it was read", () => {
    expect(countedOn(10, 1000, 4500)).toBe(13.5);
    // A clock read before the figure (never with performance.now, but cheap to be sure) adds nothing.
    expect(countedOn(10, 1000, 900)).toBe(10);
  });

  test("a retry's outcome names the video, or the job when the video has no title", () => {
    expect(retriedMessage("Broken", "video-3-r1")).toBe("“Broken” is queued again (job video-3-r1).");
    expect(retriedMessage(null, "video-3-r1")).toBe("Job video-3-r1 is queued again.");
  });

  test("Retry is offered only where the api would take it", () => {
    expect(retryRefusal({ video_id: 3, video_state: "error", current: true })).toBeNull();
    expect(retryRefusal({ video_id: 3, video_state: null, current: false })).toBe("The video was deleted.");
    expect(retryRefusal({ video_id: null, video_state: null, current: false })).toBe(
      "Not a video's job: see the queue dashboard.",
    );
    expect(retryRefusal({ video_id: 3, video_state: "error", current: false })).toBe(
      "The file was replaced since: this job transcoded an old one.",
    );
    expect(retryRefusal({ video_id: 3, video_state: "pending", current: true })).toBe(
      "The video is pending now.",
    );
  });
});
