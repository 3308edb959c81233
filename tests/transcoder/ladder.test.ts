import { describe, expect, test } from "bun:test";
import { chooseLadder, type LadderSource, outputFrameRate, targetBitrate } from "../../transcoder/ladder.ts";

const source = (overrides: Partial<LadderSource> = {}): LadderSource => ({
  width: 1920,
  height: 1080,
  frameRate: 30,
  variableFrameRate: false,
  videoBitrate: null,
  ...overrides,
});

describe("chooseLadder", () => {
  test("a 1080p source gets every default rung, 16:9 with even sizes", () => {
    const ladder = chooseLadder(source());
    expect(ladder.map((rung) => [rung.name, rung.width, rung.height])).toEqual([
      ["360p", 640, 360],
      ["480p", 854, 480],
      ["720p", 1280, 720],
      ["1080p", 1920, 1080],
    ]);
    for (const rung of ladder) {
      expect(rung.width % 2).toBe(0);
      expect(rung.height % 2).toBe(0);
      expect(rung.frameRate).toBe(30);
    }
  });

  test("never upscales: a 720p source stops at 720p", () => {
    expect(chooseLadder(source({ width: 1280, height: 720 })).map((rung) => rung.name)).toEqual([
      "360p",
      "480p",
      "720p",
    ]);
  });

  test("portrait rungs are named by their shorter side and stay upright", () => {
    const ladder = chooseLadder(source({ width: 1080, height: 1920 }));
    expect(ladder.map((rung) => [rung.name, rung.width, rung.height])).toEqual([
      ["360p", 360, 640],
      ["480p", 480, 854],
      ["720p", 720, 1280],
      ["1080p", 1080, 1920],
    ]);
  });

  test("a source smaller than the lowest rung gets one rendition at its own size, made even", () => {
    expect(chooseLadder(source({ width: 321, height: 241 }))).toMatchObject([
      { name: "240p", width: 320, height: 240 },
    ]);
    expect(chooseLadder(source({ width: 240, height: 427 }))).toMatchObject([
      { name: "240p", width: 240, height: 426 },
    ]);
  });

  test("a source well between two rungs also keeps its own size (cropped films)", () => {
    expect(chooseLadder(source({ width: 1920, height: 1040 })).map((rung) => rung.name)).toEqual([
      "360p",
      "480p",
      "720p",
      "1040p",
    ]);
    // Just above a rung: not worth another rendition.
    expect(chooseLadder(source({ width: 1920, height: 800 })).map((rung) => rung.name)).toEqual([
      "360p",
      "480p",
      "720p",
    ]);
    // Above the configured top: the operator's ceiling holds.
    expect(chooseLadder(source({ width: 3840, height: 2160 })).at(-1)?.name).toBe("1080p");
  });

  test("rungs are configurable", () => {
    const ladder = chooseLadder(source(), { heights: [1080, 240, 720, 720] });
    expect(ladder.map((rung) => rung.name)).toEqual(["240p", "720p", "1080p"]);
  });

  test("bitrates follow bits per pixel, with maxrate 1.5× and bufsize 2×", () => {
    const [low, , , top] = chooseLadder(source());
    expect(top!.videoBitrate).toBe(targetBitrate(1920, 1080, 30));
    expect(top!.videoBitrate).toBeCloseTo(0.1 * 1920 * 1080 * 30, -4);
    expect(low!.videoBitrate).toBeCloseTo(0.1 * 640 * 360 * 30, -4);
    for (const rung of [low!, top!]) {
      expect(rung.maxrate).toBe(Math.round(rung.videoBitrate * 1.5));
      expect(rung.bufsize).toBe(rung.videoBitrate * 2);
    }
  });

  test("higher frame rates cost more bits, sub-linearly", () => {
    const at30 = targetBitrate(1280, 720, 30);
    const at60 = targetBitrate(1280, 720, 60);
    expect(at60).toBeGreaterThan(at30 * 1.4);
    expect(at60).toBeLessThan(at30 * 2);
  });

  test("the source's bitrate caps every rung, down to a floor", () => {
    const capped = chooseLadder(source({ videoBitrate: 2_000_000 }));
    const uncapped = chooseLadder(source());
    capped.forEach((rung, i) => {
      expect(rung.videoBitrate).toBeLessThanOrEqual(Math.max(2_000_000, uncapped[i]!.videoBitrate * 0.25));
      expect(rung.videoBitrate).toBeLessThanOrEqual(uncapped[i]!.videoBitrate);
    });
    expect(capped[0]!.videoBitrate).toBe(uncapped[0]!.videoBitrate); // 360p needs less than the source has
    expect(capped[3]!.videoBitrate).toBe(2_000_000);
    // A starved source does not starve the renditions below a quarter of their target.
    const starved = chooseLadder(source({ videoBitrate: 100_000 }));
    expect(starved[3]!.videoBitrate).toBe(Math.round(uncapped[3]!.videoBitrate / 4 / 1000) * 1000);
  });

  test("audio is 128k, 96k on the lowest rung", () => {
    expect(chooseLadder(source()).map((rung) => rung.audioBitrate)).toEqual([
      96_000, 128_000, 128_000, 128_000,
    ]);
    expect(chooseLadder(source({ width: 320, height: 180 })).map((rung) => rung.audioBitrate)).toEqual([
      96_000,
    ]);
  });
});

describe("outputFrameRate", () => {
  test("constant rates up to 60 are kept, higher ones divided down evenly", () => {
    expect(outputFrameRate({ frameRate: 30000 / 1001, variableFrameRate: false })).toBeCloseTo(29.97, 2);
    expect(outputFrameRate({ frameRate: 60, variableFrameRate: false })).toBe(60);
    expect(outputFrameRate({ frameRate: 120, variableFrameRate: false })).toBe(60);
    expect(outputFrameRate({ frameRate: 100, variableFrameRate: false })).toBe(50);
    expect(outputFrameRate({ frameRate: 240, variableFrameRate: false })).toBe(60);
  });

  test("variable rates become 30, or 60 for fast sources", () => {
    expect(outputFrameRate({ frameRate: 17.05, variableFrameRate: true })).toBe(30);
    expect(outputFrameRate({ frameRate: 29.5, variableFrameRate: true })).toBe(30);
    expect(outputFrameRate({ frameRate: 48, variableFrameRate: true })).toBe(60);
  });
});
