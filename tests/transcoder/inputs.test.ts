// Every kind of upload users really send: broken ones are refused with a sentence they understand
// (InputError, never retried), odd ones come out as sane, playable renditions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TranscodeResult } from "../../contract/media.ts";
import {
  generateAudioOnly,
  generateInterlaced,
  generateNoAudio,
  generateOddDimensions,
  generateRotatedPortrait,
  generateSingleFrame,
  generateSurround,
  generateTenBit,
  generateTruncatedMp4,
  generateVariableFrameRate,
  generateVideo,
  writeRandomBytes,
  writeTextAsVideo,
  writeZeroBytes,
} from "../../dev/media.ts";
import { InputError } from "../../transcoder/errors.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { masterPlaylist, mediaPlaylist, streamsOf, videoPackets } from "../support/ffprobe.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-inputs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
function run(sourcePath: string, thumbnails = false): Promise<TranscodeResult> & { outputDir: string } {
  const outputDir = join(dir, `out-${++counter}`);
  const promise = transcode({ sourcePath, outputDir, segmentSeconds: 1, preset: "ultrafast", thumbnails });
  return Object.assign(promise, { outputDir });
}

async function refusal(sourcePath: string): Promise<string> {
  const error = await run(sourcePath).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as Error).message;
}

async function videoOf(path: string) {
  return (await streamsOf(path)).find((stream) => stream.codec_type === "video")!;
}

describe("refused, with a readable reason", () => {
  test("an empty file", async () => {
    expect(await refusal(await writeZeroBytes(join(dir, "empty.mp4")))).toBe("The file is empty");
  });

  test("random bytes", async () => {
    expect(await refusal(await writeRandomBytes(join(dir, "random.mp4")))).toBe(
      "The file is not a video that can be read",
    );
  });

  test("a text file renamed .mp4", async () => {
    expect(await refusal(await writeTextAsVideo(join(dir, "notes.mp4")))).toBe(
      "The file is not a video that can be read",
    );
  });

  test("sound without picture", async () => {
    expect(await refusal(await generateAudioOnly(join(dir, "song.m4a")))).toBe(
      "The file has no video stream",
    );
  });

  test("a still image", async () => {
    const image = join(dir, "photo.png");
    const made = await runProcess([
      "ffmpeg",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=320x180",
      "-frames:v",
      "1",
      image,
    ]);
    expect(made.exitCode).toBe(0);
    expect(await refusal(image)).toBe("The file is a still image, not a video");
  });

  test("an MP4 cut off during upload, index at the front: says where it stops", async () => {
    const path = await generateTruncatedMp4(join(dir, "cut.mp4"), { index: "kept", keep: 0.6, seconds: 3 });
    expect(await refusal(path)).toBe("The file is truncated at 00:00:01 (the video should last 00:00:03)");
  });

  test("an MP4 cut off during upload, index at the end (lost)", async () => {
    const path = await generateTruncatedMp4(join(dir, "cut-noindex.mp4"), { index: "missing" });
    expect(await refusal(path)).toBe("The file is truncated or incomplete (its index is missing)");
  });

  test("larger than 8K", async () => {
    const path = await generateVideo(join(dir, "wide.mp4"), {
      seconds: 0.2,
      width: 7696,
      height: 64,
      fps: 5,
      audio: "none",
    });
    expect(await refusal(path)).toBe("The video is larger than 8K (7680×4320)");
  });
});

describe("odd but fine", () => {
  test("a rotated phone video: upright renditions named by their short side", async () => {
    const transcoding = run(await generateRotatedPortrait(join(dir, "phone.mp4"), 1));
    const result = await transcoding;
    expect(result.renditions.map((rendition) => [rendition.name, rendition.width, rendition.height])).toEqual(
      [
        ["360p", 360, 640],
        ["480p", 480, 854],
        ["720p", 720, 1280],
        ["1080p", 1080, 1920],
      ],
    );
    // The pixels themselves are upright (TS carries no rotation to fix it later).
    expect(await videoOf(join(transcoding.outputDir, "720p", "seg_00000.ts"))).toMatchObject({
      width: 720,
      height: 1280,
    });
  }, 60_000);

  test("5.1 sound is mixed down to stereo AAC at 48 kHz", async () => {
    const transcoding = run(await generateSurround(join(dir, "surround.mp4")));
    await transcoding;
    const audio = (await streamsOf(join(transcoding.outputDir, "180p", "seg_00000.ts"))).find(
      (stream) => stream.codec_type === "audio",
    );
    expect(audio).toMatchObject({ codec_name: "aac", channels: 2, sample_rate: "48000" });
  });

  test("no sound: renditions without audio, CODECS without mp4a", async () => {
    const transcoding = run(await generateNoAudio(join(dir, "silent.mp4")));
    const result = await transcoding;
    expect(result.renditions[0]!.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    const streams = await streamsOf(join(transcoding.outputDir, "180p", "seg_00000.ts"));
    expect(streams.map((stream) => stream.codec_type)).toEqual(["video"]);
  });

  test("odd dimensions (321×241, 4:4:4) come out even and 4:2:0", async () => {
    const transcoding = run(await generateOddDimensions(join(dir, "odd.mp4")));
    const result = await transcoding;
    expect(result.renditions).toMatchObject([{ name: "240p", width: 320, height: 240 }]);
    expect(await videoOf(join(transcoding.outputDir, "240p", "seg_00000.ts"))).toMatchObject({
      width: 320,
      height: 240,
      pix_fmt: "yuv420p",
    });
  });

  test("10-bit HEVC becomes 8-bit H.264", async () => {
    const transcoding = run(await generateTenBit(join(dir, "tenbit.mp4")));
    await transcoding;
    expect(await videoOf(join(transcoding.outputDir, "180p", "seg_00000.ts"))).toMatchObject({
      codec_name: "h264",
      pix_fmt: "yuv420p",
    });
  });

  test("interlaced PAL is deinterlaced", async () => {
    const transcoding = run(await generateInterlaced(join(dir, "interlaced.mp4")));
    const result = await transcoding;
    expect(result.renditions.map((rendition) => rendition.name)).toEqual(["360p", "480p"]);
    expect(result.renditions[0]!.frameRate).toBe(25);
    const video = await videoOf(join(transcoding.outputDir, "480p", "seg_00000.ts"));
    expect(video.field_order).toBe("progressive");
  });

  test("variable frame rate becomes constant, with keyframes on every segment boundary", async () => {
    const transcoding = run(await generateVariableFrameRate(join(dir, "vfr.mp4")));
    const result = await transcoding;
    expect(result.renditions[0]!.frameRate).toBe(30);
    const playlist = await mediaPlaylist(transcoding.outputDir, "180p");
    expect(playlist.segments.length).toBe(3);
    for (const segment of playlist.segments) {
      const packets = await videoPackets(join(transcoding.outputDir, "180p", segment.uri));
      expect(packets[0]!.key).toBe(true);
      // Constant rate: 1/30 s between frames throughout.
      const times = packets.map((packet) => packet.pts).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(1 / 30, 3);
    }
  });

  test("a single frame: a valid one-segment video (short clips are videos too)", async () => {
    const transcoding = run(await generateSingleFrame(join(dir, "single.mp4")), true);
    const result = await transcoding;
    expect(result.renditions).toHaveLength(1);
    const playlist = await mediaPlaylist(transcoding.outputDir, "180p");
    expect(playlist.segments).toHaveLength(1);
    expect(playlist.targetDuration).toBe(1);
    expect((await masterPlaylist(transcoding.outputDir)).variants).toHaveLength(1);
  });

  test("a raw H.264 stream (no container duration) is measured by reading it", async () => {
    const path = await generateVideo(join(dir, "raw.mp4"), {
      seconds: 2,
      width: 320,
      height: 180,
      fps: 25,
      audio: "none",
    });
    const raw = join(dir, "raw.h264");
    expect(
      (await runProcess(["ffmpeg", "-v", "error", "-i", path, "-c", "copy", "-f", "h264", raw])).exitCode,
    ).toBe(0);
    const result = await run(raw);
    expect(result.durationSeconds).toBeCloseTo(2, 0);
  });
});
