// End to end on a real 1080p source: one FFmpeg for the ladder, HLS checked from the files up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TranscodeResult } from "../../contract/media.ts";
import { generateVideo } from "../../dev/media.ts";
import { StorageFullError } from "../../storage/no-space.ts";
import { InputError } from "../../transcoder/errors.ts";
import {
  failOnFfmpegError,
  type PipelineProgress,
  smallestMp4Rendition,
  transcode,
} from "../../transcoder/pipeline.ts";
import { masterPlaylist, mediaPlaylist, streamsOf, videoPackets } from "../support/ffprobe.ts";

const SEGMENT_SECONDS = 2;
const RUNGS = [
  ["360p", 640, 360],
  ["480p", 854, 480],
  ["720p", 1280, 720],
  ["1080p", 1920, 1080],
] as const;

let dir: string;
let sourcePath: string;
let outputDir: string;
let result: TranscodeResult;
const ticks: PipelineProgress[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-pipeline-"));
  sourcePath = await generateVideo(join(dir, "source.mp4"), {
    seconds: 4,
    width: 1920,
    height: 1080,
    fps: 30,
    audio: "stereo",
  });
  outputDir = join(dir, "out");
  result = await transcode({
    sourcePath,
    outputDir,
    segmentSeconds: SEGMENT_SECONDS,
    preset: "ultrafast",
    onProgress: (tick) => ticks.push(tick),
  });
}, 90_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a 1080p source through the whole pipeline", () => {
  test("returns every rung of the ladder", () => {
    expect(result.durationSeconds).toBeCloseTo(4, 1);
    expect(result.masterPlaylist).toBe("master.m3u8");
    expect(result.renditions.map((rendition) => [rendition.name, rendition.width, rendition.height])).toEqual(
      RUNGS.map((rung) => [...rung]),
    );
  });

  test("the master playlist lists them with measured attributes", async () => {
    const master = await masterPlaylist(outputDir);
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.independentSegments).toBe(true);
    expect(master.variants).toHaveLength(4);
    for (const [i, variant] of master.variants.entries()) {
      const [name, width, height] = RUNGS[i]!;
      const rendition = result.renditions[i]!;
      expect(variant.uri).toBe(`${name}/index.m3u8`);
      expect(variant.isIFrameOnly).toBeFalsy();
      expect(variant.resolution).toEqual({ width, height });
      expect(variant.frameRate).toBe(30);
      expect(variant.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(variant.codecs).toBe(rendition.codecs);
      expect(variant.bandwidth).toBe(rendition.bandwidth);
      expect(variant.averageBandwidth).toBe(rendition.averageBandwidth);

      // BANDWIDTH is the peak segment bitrate, AVERAGE-BANDWIDTH the whole rendition's.
      const playlist = await mediaPlaylist(outputDir, name);
      const sizes = playlist.segments.map((segment) => Bun.file(join(outputDir, name, segment.uri)).size);
      const peak = Math.max(...playlist.segments.map((segment, s) => (sizes[s]! * 8) / segment.duration));
      const totalSeconds = playlist.segments.reduce((sum, segment) => sum + segment.duration, 0);
      const average = (sizes.reduce((sum, size) => sum + size, 0) * 8) / totalSeconds;
      expect(variant.bandwidth).toBe(Math.ceil(peak));
      expect(variant.averageBandwidth).toBe(Math.ceil(average));
      expect(variant.bandwidth).toBeGreaterThanOrEqual(variant.averageBandwidth!);
    }
    // Lower rungs cost less.
    const bandwidths = master.variants.map((variant) => variant.bandwidth);
    expect([...bandwidths].sort((a, b) => a - b)).toEqual(bandwidths);
  });

  test("the CODECS level matches each rung's real stream", async () => {
    for (const [i, [name]] of RUNGS.entries()) {
      const codecs = result.renditions[i]!.codecs;
      const video = (await streamsOf(join(outputDir, name, "seg_00000.ts"))).find(
        (s) => s.codec_type === "video",
      )!;
      const profile = { "Constrained Baseline": "42", Baseline: "42", Main: "4d", High: "64" }[
        video.profile!
      ];
      expect(codecs.slice(5, 7)).toBe(profile!);
    }
  });

  test("every media playlist is a finished VOD whose segments exist and respect the target duration", async () => {
    for (const [name] of RUNGS) {
      const playlist = await mediaPlaylist(outputDir, name);
      expect(playlist.playlistType).toBe("VOD");
      expect(playlist.endlist).toBe(true);
      expect(playlist.independentSegments).toBe(true);
      expect(playlist.targetDuration).toBe(SEGMENT_SECONDS);
      expect(playlist.segments.map((segment) => segment.duration)).toEqual([2, 2]);
      for (const segment of playlist.segments) {
        expect(Math.round(segment.duration)).toBeLessThanOrEqual(playlist.targetDuration);
        expect((await stat(join(outputDir, name, segment.uri))).size).toBeGreaterThan(0);
      }
      // Nothing else in the folder but the rung's progressive MP4: no stray temporary segments.
      expect(readdirSync(join(outputDir, name)).sort()).toEqual([
        "index.m3u8",
        "progressive.mp4",
        "seg_00000.ts",
        "seg_00001.ts",
      ]);
    }
  });

  test("each rung has its size, H.264 and stereo AAC at 48 kHz", async () => {
    for (const [name, width, height] of RUNGS) {
      const streams = await streamsOf(join(outputDir, name, "seg_00001.ts"));
      expect(streams.find((s) => s.codec_type === "video")).toMatchObject({
        codec_name: "h264",
        width,
        height,
        pix_fmt: "yuv420p",
      });
      expect(streams.find((s) => s.codec_type === "audio")).toMatchObject({
        codec_name: "aac",
        channels: 2,
        sample_rate: "48000",
      });
    }
  });

  test("keyframes open every segment and sit at the same instants in every rung", async () => {
    const keyframeTimes: number[][] = [];
    for (const [name] of RUNGS) {
      const times: number[] = [];
      for (const segment of ["seg_00000.ts", "seg_00001.ts"]) {
        const packets = await videoPackets(join(outputDir, name, segment));
        expect(packets[0]!.key).toBe(true);
        expect(packets[0]!.pts).toBe(Math.min(...packets.map((packet) => packet.pts)));
        times.push(...packets.filter((packet) => packet.key).map((packet) => packet.pts));
      }
      keyframeTimes.push(times);
    }
    for (const times of keyframeTimes) expect(times).toEqual(keyframeTimes[0]!);
    // One keyframe per segment, SEGMENT_SECONDS apart (MPEG-TS starts its clock at an offset).
    const [first, second] = keyframeTimes[0]!;
    expect(keyframeTimes[0]).toHaveLength(2);
    expect(second! - first!).toBeCloseTo(SEGMENT_SECONDS, 3);
  });

  test("posters and storyboard are made, paths relative to the output", () => {
    expect(result.posters.length).toBeGreaterThan(0);
    for (const poster of result.posters) {
      expect(existsSync(join(outputDir, poster.jpeg))).toBe(true);
      expect(existsSync(join(outputDir, poster.webp))).toBe(true);
    }
    if (result.storyboard) {
      expect(readFileSync(join(outputDir, result.storyboard.vtt), "utf8")).toStartWith("WEBVTT");
      for (const sprite of result.storyboard.sprites) expect(existsSync(join(outputDir, sprite))).toBe(true);
    }
  });

  test("the storyboard samples the narrowest rung with an MP4 at least a tile wide", () => {
    expect(smallestMp4Rendition(result.renditions)?.name).toBe("360p");
    const [r360, r480, r720] = result.renditions;
    // A rung whose remux failed has no MP4 and is passed over; one narrower than a tile too.
    const { mp4: _, ...without } = r360!;
    expect(smallestMp4Rendition([r720!, without, r480!])?.name).toBe("480p");
    expect(smallestMp4Rendition([{ ...r360!, width: 120, height: 68 }, r720!])?.name).toBe("720p");
    expect(smallestMp4Rendition([without])).toBeNull();
  });

  test("progress goes through the stages in order, never backwards, and ends at 99%", () => {
    const stages = [...new Set(ticks.map((tick) => tick.stage))];
    expect(stages).toEqual(["probing", "encoding", "verifying", "remuxing", "thumbnails"]);
    for (let i = 1; i < ticks.length; i++)
      expect(ticks[i]!.percent).toBeGreaterThanOrEqual(ticks[i - 1]!.percent);
    const encoding = ticks.filter((tick) => tick.stage === "encoding");
    expect(encoding.every((tick) => tick.percent >= 2 && tick.percent <= 90 && tick.rung === "all")).toBe(
      true,
    );
    expect(encoding.at(-1)!.percent).toBe(90);
    expect(ticks.at(-1)).toMatchObject({ stage: "thumbnails", percent: 99, etaSeconds: 0 });
  });
});

describe("cancelling", () => {
  test("an abort stops FFmpeg and rejects", async () => {
    const controller = new AbortController();
    const cancelledDir = join(dir, "cancelled");
    let encodingTicks = 0;
    const running = transcode({
      sourcePath,
      outputDir: cancelledDir,
      segmentSeconds: SEGMENT_SECONDS,
      preset: "ultrafast",
      thumbnails: false,
      signal: controller.signal,
      // The first encoding tick comes before FFmpeg starts; the next ones come from FFmpeg itself.
      onProgress: (tick) => {
        if (tick.stage === "encoding" && ++encodingTicks === 2) controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ name: "AbortError" });
    expect(encodingTicks).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(cancelledDir, "master.m3u8"))).toBe(false);
    // No FFmpeg is left writing into the cancelled folder.
    const leftovers = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(cancelledDir);
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
  });
});

describe("failOnFfmpegError", () => {
  const source = { durationSeconds: 60 };
  const run = (exitCode: number | null, stderr: string, signalCode: string | null = null) => ({
    exitCode,
    signalCode,
    stderr,
    timedOut: false,
  });

  test("a clean run passes", () => {
    expect(() => failOnFfmpegError(run(0, ""), 60, source)).not.toThrow();
    // Harmless decode warnings on a complete encode pass too.
    expect(() =>
      failOnFfmpegError(run(0, "[h264 @ 0x1] error while decoding MB 3 4"), 59.9, source),
    ).not.toThrow();
  });

  test("damaged input is the uploader's problem, with the position", () => {
    const damaged = run(
      1,
      "[mov @ 0x1] stream 0, offset 0x16d1e7: partial file\nError while decoding stream #0:0: Invalid data found when processing input\nConversion failed!",
    );
    expect(() => failOnFfmpegError(damaged, 72.4, source)).toThrow(InputError);
    expect(() => failOnFfmpegError(damaged, 72.4, source)).toThrow(
      "The video cannot be decoded after 00:01:12",
    );
    // FFmpeg may also give up quietly, exiting 0 with half the video.
    expect(() => failOnFfmpegError(run(0, "Invalid NAL unit size (26900 > 20216)."), 30, source)).toThrow(
      InputError,
    );
  });

  test("anything else is a one-line error to retry", () => {
    const failing = run(
      1,
      "[hls @ 0x1] Failed to open file '/out/360p/seg_00003.ts'\nCould not write header\nConversion failed!\n",
    );
    expect(() => failOnFfmpegError(failing, 10, source)).toThrow(
      "FFmpeg exited with code 1: Could not write header",
    );
    let error: unknown;
    try {
      failOnFfmpegError(run(null, "", "SIGKILL"), 10, source);
    } catch (caught) {
      error = caught;
    }
    expect(error).not.toBeInstanceOf(InputError);
    expect((error as Error).message).toBe("FFmpeg was killed by SIGKILL");
  });

  test("a full disk is said as such, even when FFmpeg exited 0 and the damage looks like the input's", () => {
    // FFmpeg 5.1 logs the failed writes, finishes the run and exits 0 with half-written segments.
    const full = run(
      0,
      "[mpegts @ 0x1] Error writing packet: No space left on device\n" +
        "av_interleaved_write_frame(): No space left on device\nError while decoding stream #0:1\n",
    );
    expect(() => failOnFfmpegError(full, 20, source)).toThrow(StorageFullError);
    expect(() => failOnFfmpegError(full, 20, source)).toThrow("the media storage is full");
    expect(() =>
      failOnFfmpegError(run(1, "Could not write header: No space left on device"), 0, source),
    ).toThrow(StorageFullError);
  });
});
