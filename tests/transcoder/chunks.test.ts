// The chunked ladder on real FFmpeg against the one-pass ladder of the same source: a 30 s film at
// 29.97 fps with B-frames (the hard case for cutting: frames off the second grid, negative DTS at the
// start), cut into five 6 s chunks of three 2 s segments. The stitched tree must be what the one FFmpeg
// writes: the same playlists, segments starting at the same instants, continuous timestamps across every
// cut, sound as long as the picture, and the same picture quality.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TranscodeResult } from "../../contract/media.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { type TranscodeOptions, transcode } from "../../transcoder/pipeline.ts";
import { streamsOf } from "../support/ffprobe.ts";

const SEGMENT_SECONDS = 2;
const FRAME_SECONDS = 1001 / 30000;
const RUNGS = ["180p", "360p"];

let dir: string;
let sourcePath: string;
const onePass = { dir: "", scratch: "", result: null as TranscodeResult | null, logged: [] as object[] };
const chunked = { dir: "", scratch: "", result: null as TranscodeResult | null, logged: [] as object[] };

async function ffmpeg(args: string[]): Promise<string> {
  const result = await runProcess(["ffmpeg", "-hide_banner", "-nostdin", ...args], { timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new Error(`ffmpeg ${args.join(" ")}: ${result.stderr}`);
  return result.stderr;
}

async function run(target: typeof onePass, minSeconds: number) {
  const options: TranscodeOptions = {
    sourcePath,
    outputDir: target.dir,
    ladderHeights: [180, 360],
    segmentSeconds: SEGMENT_SECONDS,
    thumbnails: false,
    chunking: { minSeconds, segments: 3, scratchDir: target.scratch },
    log: { debug() {}, warn() {}, info: (details) => target.logged.push(details) },
  };
  target.result = await transcode(options);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chunked-ladder-"));
  sourcePath = join(dir, "source.mp4");
  await ffmpeg([
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30000/1001:d=30"],
    ...["-f", "lavfi", "-i", "aevalsrc=0.3*sin(440*2*PI*t)|0.3*sin(550*2*PI*t):c=stereo:s=44100:d=30"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-crf", "23", "-c:a", "aac", sourcePath],
  ]);
  for (const [name, target] of [
    ["one-pass", onePass],
    ["chunked", chunked],
  ] as const) {
    target.dir = join(dir, name);
    target.scratch = join(dir, `${name}-scratch`);
  }
  // CHUNK_MIN_SECONDS 120: this 30 s film takes the one-job path; 10: it is cut.
  await run(onePass, 120);
  await run(chunked, 10);
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chunksLogged = (target: typeof onePass) =>
  target.logged.map((details) => (details as { chunks?: number }).chunks).find((n) => n !== undefined);

describe("the plan", () => {
  test("a film shorter than CHUNK_MIN_SECONDS is encoded in one pass; a longer one in chunks", () => {
    expect(chunksLogged(onePass)).toBe(0);
    expect(chunksLogged(chunked)).toBe(5);
  });

  test("the chunks' scratch is gone once the ladder is stitched", () => {
    expect(existsSync(chunked.scratch)).toBe(false);
    expect(existsSync(onePass.scratch)).toBe(false);
  });
});

describe("the stitched ladder equals the one-pass ladder", () => {
  test("the same renditions with the same measured attributes' shape", () => {
    const shape = (result: TranscodeResult | null) =>
      result?.renditions.map((r) => [r.name, r.width, r.height, r.codecs, r.frameRate]);
    expect(shape(chunked.result)).toEqual(shape(onePass.result));
    expect(chunked.result?.durationSeconds).toBe(onePass.result!.durationSeconds);
  });

  test("every media playlist is the same text: segment names, durations, target, no discontinuity", async () => {
    for (const rung of RUNGS) {
      const stitched = await Bun.file(join(chunked.dir, rung, "index.m3u8")).text();
      expect(stitched).toBe(await Bun.file(join(onePass.dir, rung, "index.m3u8")).text());
      expect(stitched).not.toContain("DISCONTINUITY");
      expect(stitched.match(/^seg_\d{5}\.ts$/gm)).toHaveLength(15);
    }
  });

  test("the segments at every cut start at the same instant, video and sound, on a keyframe", async () => {
    // Chunks start at segments 0, 3, 6, 9, 12; segment 14 is the film's last.
    const segments = [0, 2, 3, 6, 9, 11, 12, 14].map((n) => `seg_${String(n).padStart(5, "0")}.ts`);
    for (const rung of RUNGS) {
      for (const segment of segments) {
        const starts = async (root: string) =>
          (await segmentStreams(join(root, rung, segment))).map((s) => [s.codec_type, s.start_time, s.key]);
        expect(await starts(chunked.dir)).toEqual(await starts(onePass.dir));
      }
    }
  });

  test("the timestamps run on across every cut: one frame apart, nothing missing or doubled", async () => {
    for (const rung of RUNGS) {
      const pts = (await videoPts(join(chunked.dir, rung, "index.m3u8"))).sort((a, b) => a - b);
      expect(pts).toHaveLength(900);
      const steps = pts.slice(1).map((value, i) => value - pts[i]!);
      expect(Math.max(...steps)).toBeLessThan(FRAME_SECONDS * 1.01);
      expect(Math.min(...steps)).toBeGreaterThan(FRAME_SECONDS * 0.99);
      expect(pts).toEqual((await videoPts(join(onePass.dir, rung, "index.m3u8"))).sort((a, b) => a - b));
    }
  });

  test("the sound lasts as long as the picture, within one frame, in every rung", async () => {
    for (const rung of RUNGS) {
      const streams = await streamsOf(join(chunked.dir, rung, "progressive.mp4"));
      const seconds = (type: string) =>
        Number((streams.find((s) => s.codec_type === type) as { duration?: string } | undefined)?.duration);
      expect(Math.abs(seconds("audio") - seconds("video"))).toBeLessThanOrEqual(FRAME_SECONDS);
      expect(seconds("video")).toBeCloseTo(30.03, 2);
    }
  });

  test("the picture is as good as the one pass's (SSIM against the source within 0.002)", async () => {
    const ssim = async (root: string) => {
      const stderr = await ffmpeg([
        ...["-i", sourcePath, "-i", join(root, "360p", "index.m3u8")],
        ...["-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"],
      ]);
      return Number(stderr.match(/All:([0-9.]+)/)?.[1]);
    };
    const [whole, stitched] = [await ssim(onePass.dir), await ssim(chunked.dir)];
    expect(whole).toBeGreaterThan(0.9);
    expect(Math.abs(stitched - whole)).toBeLessThanOrEqual(0.002);
  }, 60_000);
});

/** Each stream's start time and whether its first packet is a keyframe. */
async function segmentStreams(path: string) {
  const streams = (await streamsOf(path)) as { codec_type: string; start_time?: string }[];
  const keyframe = await runProcess(
    ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1"].concat([
      "-show_entries",
      "packet=flags",
      "-of",
      "csv=p=0",
      path,
    ]),
    { timeoutMs: 30_000 },
  );
  return streams.map((s) => ({
    codec_type: s.codec_type,
    start_time: s.start_time,
    key: s.codec_type === "video" ? keyframe.stdout.trim().startsWith("K") : null,
  }));
}

async function videoPts(playlist: string): Promise<number[]> {
  const result = await runProcess(
    ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time"].concat([
      "-of",
      "csv=p=0",
      playlist,
    ]),
    { timeoutMs: 60_000 },
  );
  if (result.exitCode !== 0) throw new Error(result.stderr);
  return result.stdout
    .split("\n")
    .filter((line) => /^[0-9.]+,?$/.test(line.trim()))
    .map((line) => Number.parseFloat(line));
}
