import { describe, expect, test } from "bun:test";
import {
  estimateStage,
  type FfmpegProgress,
  overallPercent,
  ProgressParser,
  throttle,
} from "../../transcoder/progress.ts";

const BLOCK = (outTimeUs: string, speed: string, progress = "continue") =>
  [
    "frame=120",
    "fps=59.94",
    "bitrate=1200.5kbits/s",
    "total_size=1048576",
    `out_time_us=${outTimeUs}`,
    `out_time_ms=${outTimeUs}`,
    "out_time=00:00:04.000000",
    "dup_frames=0",
    "drop_frames=0",
    `speed=${speed}`,
    `progress=${progress}`,
    "",
  ].join("\n");

describe("ProgressParser", () => {
  test("reads blocks, even when chunks split lines anywhere", () => {
    const blocks: FfmpegProgress[] = [];
    const parser = new ProgressParser((block) => blocks.push(block));
    const text = BLOCK("4000000", "1.23x") + BLOCK("8500000", "2.5x", "end");
    for (let i = 0; i < text.length; i += 7) parser.push(text.slice(i, i + 7));
    expect(blocks).toEqual([
      { outTimeSeconds: 4, speed: 1.23, frame: 120, done: false },
      { outTimeSeconds: 8.5, speed: 2.5, frame: 120, done: true },
    ]);
    expect(parser.latest.done).toBe(true);
  });

  test("copes with N/A before the first packet and with only out_time", () => {
    const parser = new ProgressParser();
    parser.push("out_time_us=N/A\nout_time_ms=N/A\nout_time=N/A\nspeed=N/A\nprogress=continue\n");
    expect(parser.latest).toMatchObject({ outTimeSeconds: 0, speed: null });
    parser.push("out_time=00:01:12.500000\nspeed=0.5x\nprogress=continue\n");
    expect(parser.latest).toMatchObject({ outTimeSeconds: 72.5, speed: 0.5 });
    parser.push("out_time_ms=80000000\nprogress=end\n");
    expect(parser.latest).toMatchObject({ outTimeSeconds: 80, done: true });
  });
});

describe("estimateStage", () => {
  test("percent from media time, ETA from FFmpeg's speed", () => {
    expect(estimateStage({ outTimeSeconds: 30, speed: 2, done: false }, 120, 15)).toEqual({
      percent: 25,
      etaSeconds: 45,
    });
  });

  test("ETA from wall time when the speed is unknown, and done is done", () => {
    expect(estimateStage({ outTimeSeconds: 60, speed: null, done: false }, 120, 10)).toEqual({
      percent: 50,
      etaSeconds: 10,
    });
    expect(estimateStage({ outTimeSeconds: 0, speed: null, done: false }, 120, 0).etaSeconds).toBeNull();
    expect(estimateStage({ outTimeSeconds: 119, speed: 1, done: true }, 120, 10)).toEqual({
      percent: 100,
      etaSeconds: 0,
    });
  });

  test("never beyond 100% (audio can outlast the declared duration)", () => {
    expect(estimateStage({ outTimeSeconds: 130, speed: 1, done: false }, 120, 10).percent).toBe(100);
  });

  test("stage percentages map into the job's slice", () => {
    expect(overallPercent(0, [2, 90])).toBe(2);
    expect(overallPercent(50, [2, 90])).toBe(46);
    expect(overallPercent(100, [2, 90])).toBe(90);
  });
});

describe("throttle", () => {
  test("at most N per second, the final tick always", () => {
    let clock = 0;
    const emitted: number[] = [];
    const ticks = throttle(
      (value: number) => emitted.push(value),
      4,
      () => clock,
    );
    for (let value = 0; value < 20; value++) {
      ticks.tick(value);
      clock += 50; // 20 ticks a second
    }
    ticks.tick(99, true);
    expect(emitted).toEqual([0, 5, 10, 15, 99]);
  });
});
