import { describe, expect, test } from "bun:test";
import { type Mp4Source, nearestLowerMp4 } from "./media.ts";

const rung = (height: number): Mp4Source => ({ height, url: `https://api.example/v/${height}.mp4?token=t` });

describe("nearestLowerMp4", () => {
  const ladder = [rung(1080), rung(720), rung(480), rung(240)];

  test("the rung asked for when the video has it", () => {
    expect(nearestLowerMp4(ladder, 720)).toEqual(rung(720));
    expect(nearestLowerMp4(ladder, 1080)).toEqual(rung(1080));
  });

  test("else the nearest lower one, whatever the order of the sources", () => {
    expect(nearestLowerMp4(ladder, 360)).toEqual(rung(240));
    expect(nearestLowerMp4([rung(240), rung(1080), rung(480)], 720)).toEqual(rung(480));
    expect(nearestLowerMp4(ladder, Number.POSITIVE_INFINITY)).toEqual(rung(1080));
  });

  test("the lowest when every rung is taller (the frontend asks for 120p)", () => {
    expect(nearestLowerMp4(ladder, 120)).toEqual(rung(240));
    expect(nearestLowerMp4([rung(720), rung(1080)], 360)).toEqual(rung(720));
  });

  test("null for a video without a progressive MP4", () => {
    expect(nearestLowerMp4([], 720)).toBeNull();
  });
});
