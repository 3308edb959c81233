import { describe, expect, test } from "bun:test";
import {
  countedOn,
  encoderLabel,
  formatAge,
  formatUptime,
  retriedMessage,
  retryRefusal,
} from "./farm-format.ts";

describe("how the Farm page writes a transcoder", () => {
  test("its encoder: CPU or GPU, and what encodes", () => {
    expect(encoderLabel({ hwaccel: "none", encoder: "libx264" })).toEqual({ kind: "CPU", detail: "libx264" });
    expect(encoderLabel({ hwaccel: "nvenc", encoder: "h264_nvenc" })).toEqual({
      kind: "GPU",
      detail: "h264_nvenc (NVENC)",
    });
    expect(encoderLabel({ hwaccel: "cuda-decode", encoder: "libx264" })).toEqual({
      kind: "GPU",
      detail: "CUDA decode, libx264",
    });
    expect(encoderLabel({ hwaccel: "qsv", encoder: "h264_qsv" })).toEqual({
      kind: "GPU",
      detail: "qsv, h264_qsv",
    });
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
    expect(retryRefusal({ video_state: "error", current: true })).toBeNull();
    expect(retryRefusal({ video_state: null, current: false })).toBe("The video was deleted.");
    expect(retryRefusal({ video_state: "error", current: false })).toBe(
      "The file was replaced since: this job transcoded an old one.",
    );
    expect(retryRefusal({ video_state: "pending", current: true })).toBe("The video is pending now.");
  });
});
