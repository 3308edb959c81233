// The facts read from ffprobe reports (fabricated here: the real files are in inputs.test.ts).
import { describe, expect, test } from "bun:test";
import { InputError } from "../../transcoder/errors.ts";
import { type FfprobeReport, formatTimestamp, readSourceFacts } from "../../transcoder/probe.ts";

type Stream = NonNullable<FfprobeReport["streams"]>[number];

const video = (overrides: Partial<Stream> = {}): Stream => ({
  codec_type: "video",
  codec_name: "h264",
  width: 1920,
  height: 1080,
  sample_aspect_ratio: "1:1",
  pix_fmt: "yuv420p",
  field_order: "progressive",
  avg_frame_rate: "30000/1001",
  r_frame_rate: "30000/1001",
  duration: "60.000000",
  bit_rate: "5000000",
  ...overrides,
});
const audio: Stream = {
  codec_type: "audio",
  codec_name: "aac",
  channels: 6,
  sample_rate: "44100",
  bit_rate: "384000",
};
const report = (streams: Stream[], format: FfprobeReport["format"] = {}): FfprobeReport => ({
  format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "60.02", bit_rate: "5400000", ...format },
  streams,
});

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("readSourceFacts", () => {
  test("an ordinary 1080p file", () => {
    expect(readSourceFacts(report([video(), audio]), 60.02)).toEqual({
      durationSeconds: 60.02,
      videoDurationSeconds: 60,
      width: 1920,
      height: 1080,
      codedWidth: 1920,
      codedHeight: 1080,
      rotation: 0,
      frameRate: 30000 / 1001,
      variableFrameRate: false,
      videoCodec: "h264",
      pixelFormat: "yuv420p",
      bitDepth: 8,
      interlaced: false,
      videoBitrate: 5_000_000,
      audio: { channels: 6, sampleRate: 44_100, codec: "aac" },
      demuxer: "mov",
    });
  });

  test("only containers that read nothing but themselves: a manifest or playlist is refused", () => {
    for (const format_name of ["dash", "hls", "concat", "gif"]) {
      expect(refusal(() => readSourceFacts(report([video()], { format_name }), 5))).toStartWith(
        "The file is not a supported video container",
      );
    }
    expect(readSourceFacts(report([video()], { format_name: "matroska,webm" }), 5).demuxer).toBe("matroska");
  });

  test("rotation from the display matrix or the rotate tag turns the display size", () => {
    const phone = readSourceFacts(
      report([video({ side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] })]),
      5,
    );
    expect(phone).toMatchObject({
      width: 1080,
      height: 1920,
      codedWidth: 1920,
      codedHeight: 1080,
      rotation: 270,
    });
    const tagged = readSourceFacts(report([video({ tags: { rotate: "90" } })]), 5);
    expect(tagged).toMatchObject({ width: 1080, height: 1920, rotation: 90 });
    expect(readSourceFacts(report([video({ tags: { rotate: "180" } })]), 5)).toMatchObject({
      width: 1920,
      rotation: 180,
    });
  });

  test("non-square pixels are stretched to the display width", () => {
    const dvd = readSourceFacts(
      report([video({ width: 720, height: 576, sample_aspect_ratio: "64:45" })]),
      5,
    );
    expect(dvd).toMatchObject({ width: 1024, height: 576, codedWidth: 720 });
  });

  test("10-bit, interlaced and variable frame rate are noticed", () => {
    const facts = readSourceFacts(
      report([
        video({ pix_fmt: "yuv420p10le", field_order: "tt", avg_frame_rate: "375/22", r_frame_rate: "30/1" }),
      ]),
      5,
    );
    expect(facts).toMatchObject({ bitDepth: 10, interlaced: true, variableFrameRate: true });
    expect(facts.frameRate).toBeCloseTo(17.05, 2);
    expect(readSourceFacts(report([video({ pix_fmt: "p010le" })]), 5).bitDepth).toBe(10);
    expect(readSourceFacts(report([video({ pix_fmt: "nv12" })]), 5).bitDepth).toBe(8);
    expect(readSourceFacts(report([video({ field_order: "unknown" })]), 5).interlaced).toBe(false);
  });

  test("a missing or absurd frame rate falls back sanely", () => {
    const webm = readSourceFacts(report([video({ avg_frame_rate: "0/0", r_frame_rate: "1000/1" })]), 5);
    expect(webm).toMatchObject({ frameRate: 30, variableFrameRate: true });
    const guessed = readSourceFacts(report([video({ avg_frame_rate: "0/0", r_frame_rate: "25/1" })]), 5);
    expect(guessed).toMatchObject({ frameRate: 25, variableFrameRate: false });
  });

  test("the video bitrate comes from the file's when the stream has none", () => {
    const facts = readSourceFacts(report([video({ bit_rate: undefined }), audio]), 5);
    expect(facts.videoBitrate).toBe(5_400_000 - 384_000);
  });

  test("cover art is not a video", () => {
    const music = report([{ ...audio }, video({ codec_name: "mjpeg", disposition: { attached_pic: 1 } })]);
    expect(refusal(() => readSourceFacts(music, 180))).toBe("The file has no video stream");
  });

  test("bad sources are refused with a plain sentence", () => {
    expect(refusal(() => readSourceFacts(report([audio]), 10))).toBe("The file has no video stream");
    expect(refusal(() => readSourceFacts(report([video()]), 0))).toBe(
      "The video's duration is zero or unknown",
    );
    expect(refusal(() => readSourceFacts(report([video({ width: 7681, height: 4320 })]), 5))).toBe(
      "The video is larger than 8K (7680×4320)",
    );
    expect(refusal(() => readSourceFacts(report([video({ width: 4320, height: 7682 })]), 5))).toContain("8K");
    expect(readSourceFacts(report([video({ width: 4320, height: 7680 })]), 5).height).toBe(7680);
    const still = report([video({ codec_name: "png" })], { format_name: "png_pipe" });
    expect(refusal(() => readSourceFacts(still, 0.04))).toBe("The file is a still image, not a video");
  });
});

test("timestamps read the way a person reads them", () => {
  expect(formatTimestamp(72.9)).toBe("00:01:12");
  expect(formatTimestamp(3 * 3600 + 5)).toBe("03:00:05");
  expect(formatTimestamp(0.4)).toBe("00:00:00");
});
