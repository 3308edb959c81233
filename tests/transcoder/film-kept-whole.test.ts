// The farm's say on cutting a film (CHUNKING=auto: an NVENC replica keeps its films whole while the
// farm runs CPU replicas), asked by the pipeline on real FFmpeg: only once the probed film is long
// enough to cut and no flow is recorded, and a "no" encodes the ladder in one pass with no piece added.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { type FarmPlan, type TranscodeOptions, transcode } from "../../transcoder/pipeline.ts";

let dir: string;
let film: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "film-kept-whole-"));
  film = await generateVideo(join(dir, "film.mp4"), {
    seconds: 6,
    width: 160,
    height: 90,
    fps: 25,
    audio: "stereo",
  });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A farm that records what the pipeline asked of it; `cuts` is its answer to cutsFilm. */
function farmThatCuts(cuts: boolean, recorded: FarmPlan | null = null) {
  const asked = { cutsFilm: 0, start: 0, plan: null as FarmPlan | null };
  const farm = {
    cutsFilm: async () => {
      asked.cutsFilm++;
      return cuts;
    },
    start: async (plan: FarmPlan) => {
      asked.start++;
      asked.plan = plan;
      throw new Error("handed to the farm");
    },
    finish: async () => {},
    recorded: recorded && { ...recorded, segmentSeconds: 2 },
  };
  return { asked, farm };
}

const options = (
  name: string,
  minSeconds: number,
  farm: ReturnType<typeof farmThatCuts>["farm"],
): TranscodeOptions => ({
  sourcePath: film,
  outputDir: join(dir, name),
  ladderHeights: [90],
  segmentSeconds: 2,
  preset: "ultrafast",
  thumbnails: false,
  chunking: { minSeconds, segments: 1, scratchDir: join(dir, `${name}-scratch`), farm },
});

describe("a film this replica keeps whole", () => {
  test("is encoded in one pass here, its pieces never added", async () => {
    const { asked, farm } = farmThatCuts(false);
    const result = await transcode(options("whole", 2, farm));
    expect(asked).toMatchObject({ cutsFilm: 1, start: 0 });
    expect(result.renditions.map((rung) => rung.name)).toEqual(["90p"]);
    expect(existsSync(join(dir, "whole", "90p", "index.m3u8"))).toBe(true);
  }, 60_000);

  test("a film the farm cuts goes to it, and stays with it on the runs after", async () => {
    const { asked, farm } = farmThatCuts(true);
    await expect(transcode(options("cut", 2, farm))).rejects.toThrow("handed to the farm");
    expect(asked).toMatchObject({ cutsFilm: 1, start: 1 });
    expect(asked.plan?.chunks).toHaveLength(3);

    // Its later runs carry on the recorded flow without asking again, whatever the farm says now.
    const resumed = farmThatCuts(false, asked.plan);
    await expect(transcode(options("resumed", 2, resumed.farm))).rejects.toThrow("handed to the farm");
    expect(resumed.asked).toMatchObject({ cutsFilm: 0, start: 1 });
  }, 60_000);

  test("a video too short to cut never asks", async () => {
    const { asked, farm } = farmThatCuts(false);
    await transcode(options("short", 120, farm));
    expect(asked).toMatchObject({ cutsFilm: 0, start: 0 });
  }, 60_000);
});
