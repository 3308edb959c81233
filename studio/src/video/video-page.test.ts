import { describe, expect, test } from "bun:test";
import { formatBitrate, formatBytes } from "../ui/format.ts";
import { parseStoryboard } from "./media-panel.tsx";
import { videoIdFromPath } from "./video-page.tsx";

describe("the video page's address", () => {
  test("names one video id; anything else is no video page", () => {
    expect(videoIdFromPath("/studio/videos/42")).toBe(42);
    expect(videoIdFromPath("/studio/videos/42/")).toBe(42);
    for (const path of [
      "/studio/videos/",
      "/studio/videos/0",
      "/studio/videos/4x",
      "/studio/videos/12345678901",
    ])
      expect(videoIdFromPath(path)).toBeNull();
  });
});

describe("a storyboard's WebVTT", () => {
  test("counts its cues and names each sprite sheet once, resolved against the VTT's address", () => {
    const vtt = [
      "WEBVTT",
      "",
      "00:00:00.000 --> 00:00:02.000",
      "storyboard-1.jpg#xywh=0,0,160,90",
      "",
      "00:00:02.000 --> 00:00:04.000",
      "storyboard-1.jpg#xywh=160,0,160,90",
      "",
      "00:00:04.000 --> 00:00:06.000",
      "storyboard-2.jpg#xywh=0,0,160,90",
    ].join("\n");
    expect(parseStoryboard(vtt, "http://api.test/api/video/7/thumbnails/storyboard.vtt")).toEqual({
      cues: 3,
      sheets: [
        "http://api.test/api/video/7/thumbnails/storyboard-1.jpg",
        "http://api.test/api/video/7/thumbnails/storyboard-2.jpg",
      ],
    });
  });
});

describe("rates and sizes", () => {
  test("bandwidth in kbit/s below a megabit, in Mbit/s above; sizes in KB, MB, GB", () => {
    expect(formatBitrate(889_000)).toBe("889 kbit/s");
    expect(formatBitrate(1_850_000)).toBe("1.9 Mbit/s");
    expect(formatBytes(431_000)).toBe("431 KB");
    expect(formatBytes(1_300_000)).toBe("1.3 MB");
    expect(formatBytes(2_400_000_000)).toBe("2.4 GB");
  });
});
