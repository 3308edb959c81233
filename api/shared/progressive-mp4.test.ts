import { describe, expect, test } from "bun:test";
import type { Rendition } from "../../contract/media.ts";
import { type Mp4Signer, mp4UrlsOf, nearestRung } from "./progressive-mp4.ts";

const rendition = (name: string, width: number, height: number, mp4 = true): Rendition => ({
  name,
  width,
  height,
  bandwidth: height * 1000,
  averageBandwidth: height * 900,
  codecs: "avc1.64001f,mp4a.40.2",
  frameRate: 25,
  ...(mp4 ? { mp4: { path: `${name}/progressive.mp4`, size: height * 10 } } : {}),
});

const signed: string[] = [];
const signer: Mp4Signer = {
  publicUrl: "https://api.example",
  token: (videoId) => {
    signed.push(String(videoId));
    return `1800000000.tag-of-${videoId}`;
  },
};

describe("mp4UrlsOf", () => {
  test("one signed absolute URL per rung with an MP4, lowest first, with its size", () => {
    const video = {
      id: 7,
      publishedRevision: 3,
      renditions: [
        rendition("720p", 1280, 720),
        rendition("360p", 640, 360),
        rendition("480p", 854, 480, false),
      ],
    };
    expect(mp4UrlsOf(video, signer)).toEqual([
      {
        name: "360p",
        height: 360,
        width: 640,
        url: "https://api.example/api/video/7/360p/progressive.mp4?v=3&token=1800000000.tag-of-7",
        size: 3600,
      },
      {
        name: "720p",
        height: 720,
        width: 1280,
        url: "https://api.example/api/video/7/720p/progressive.mp4?v=3&token=1800000000.tag-of-7",
        size: 7200,
      },
    ]);
    expect(mp4UrlsOf(video, signer, { download: true })[0]!.url).toEndWith("&download=1");
  });

  test("a portrait rung counts by its name; nothing for unpublished or pre-MP4 videos, and nothing signed", () => {
    const portrait = { id: 8, publishedRevision: 1, renditions: [rendition("720p", 720, 1280)] };
    expect(mp4UrlsOf(portrait, signer)[0]).toMatchObject({ height: 720, width: 720 });
    signed.length = 0;
    expect(
      mp4UrlsOf({ id: 9, publishedRevision: null, renditions: [rendition("360p", 640, 360)] }, signer),
    ).toEqual([]);
    expect(
      mp4UrlsOf({ id: 9, publishedRevision: 2, renditions: [rendition("360p", 640, 360, false)] }, signer),
    ).toEqual([]);
    expect(signed).toEqual([]);
  });
});

describe("nearestRung", () => {
  const rungs = [{ height: 720 }, { height: 360 }, { height: 1080 }, { height: 480 }];

  test("the rung asked for, else the nearest lower one, else the lowest", () => {
    expect(nearestRung(rungs, 720)).toEqual({ height: 720 });
    expect(nearestRung(rungs, 719)).toEqual({ height: 480 });
    expect(nearestRung(rungs, 2160)).toEqual({ height: 1080 });
    expect(nearestRung(rungs, 120)).toEqual({ height: 360 });
    expect(nearestRung([], 720)).toBeNull();
  });
});
