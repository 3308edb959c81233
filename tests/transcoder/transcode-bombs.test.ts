// Transcode bombs: a few kilobytes that declare hours, millions of frames or 8K at 240 fps are refused on
// what the probe reads, before any encode; and an FFmpeg that stops advancing is stopped by its deadline.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { DEFAULT_ENCODE_TIMEOUT, EncodeDeadline } from "../../transcoder/encode-deadline.ts";
import { InputError } from "../../transcoder/errors.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { type TranscodeOptions, transcode } from "../../transcoder/pipeline.ts";
import { probeSource } from "../../transcoder/probe.ts";
import { checkSourceLimits, DEFAULT_SOURCE_LIMITS } from "../../transcoder/source-limits.ts";
import { waitForProcess } from "../support/processes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-bombs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two tiny frames `gapSeconds` apart: the file declares the whole gap as its duration. */
async function stretchedSource(name: string, gapSeconds: number): Promise<string> {
  const path = join(dir, name);
  const result = await runProcess([
    ...["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=64x36:r=1:d=2"],
    ...["-vf", `setpts=N*${gapSeconds}/TB`, "-fps_mode", "passthrough", "-c:v", "libx264"],
    ...["-preset", "ultrafast", "-video_track_timescale", "1", path],
  ]);
  if (result.exitCode !== 0) throw new Error(`could not make ${name}: ${result.stderr}`);
  return path;
}

/** Runs the pipeline into a fresh folder; resolves with what it threw and what it left there. */
async function attempt(sourcePath: string, options: Partial<TranscodeOptions> = {}) {
  const outputDir = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const error = await transcode({
    sourcePath,
    outputDir,
    segmentSeconds: 2,
    preset: "ultrafast",
    thumbnails: false,
    ...options,
  }).then(
    () => null,
    (caught: unknown) => caught,
  );
  const files = await readdir(outputDir, { recursive: true }).catch(() => []);
  return { error, files };
}

describe("a source that declares too much is refused before any encode", () => {
  test("a 3 KB file declaring 40,000 s (the million-frame bomb)", async () => {
    const bomb = await stretchedSource("long.mp4", 39_999);
    expect((await stat(bomb)).size).toBeLessThan(8 * 1024);
    const { error, files } = await attempt(bomb);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe("The video declares 40000 s; the limit is 21600 s");
    expect(files).toEqual([]);
  }, 60_000);

  test("a 3 KB file declaring 20,000 s: under the duration and frame caps, refused by the defaults", async () => {
    const bomb = await stretchedSource("stretched.mp4", 19_999);
    const bytes = (await stat(bomb)).size;
    expect(bytes).toBeLessThan(8 * 1024);
    const { error, files } = await attempt(bomb);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `The video declares 20,000 s but the file holds only ${bytes.toLocaleString("en-US")} bytes ` +
        `(${(bytes / 20_000).toFixed(2)} bytes a second); a real recording has at least 100 bytes a second`,
    );
    expect(files).toEqual([]);
  }, 60_000);

  test("the issue's 40,000 s bomb is refused by the byte floor too where the duration cap is raised", async () => {
    const bomb = await stretchedSource("long-allowed.mp4", 39_999);
    const limits = loadTranscoderConfig({ MAX_SOURCE_SECONDS: String(7 * 24 * 3600) }).sourceLimits;
    const { error, files } = await attempt(bomb, { limits });
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toStartWith("The video declares 40,000 s but the file holds only ");
    expect(files).toEqual([]);
  }, 60_000);

  test("the leanest real sources pass the byte floor: a still picture with 6 kbit/s speech, a slideshow", async () => {
    const still = join(dir, "still-speech.mp4");
    const speech = await runProcess([
      ...[
        "ffmpeg",
        "-hide_banner",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=c=navy:s=320x240:r=1:d=120",
      ],
      ...["-f", "lavfi", "-i", "sine=f=220:d=120:sample_rate=8000", "-c:v", "libx264", "-preset", "veryslow"],
      ...["-g", "600", "-c:a", "aac", "-b:a", "6k", "-ac", "1", "-shortest", still],
    ]);
    expect(speech.exitCode).toBe(0);
    // Five pictures, each shown for 24 s, no sound.
    const slideshow = join(dir, "slideshow.mp4");
    const slides = await runProcess([
      ...["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=1:d=5"],
      ...["-vf", "setpts=N*24/TB", "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryslow"],
      ...["-video_track_timescale", "1", "-frames:v", "5", slideshow],
    ]);
    expect(slides.exitCode).toBe(0);
    for (const path of [still, slideshow]) {
      const facts = await probeSource(path);
      const bytes = (await stat(path)).size;
      expect(facts.durationSeconds).toBeGreaterThan(90);
      expect(bytes / facts.durationSeconds).toBeGreaterThan(DEFAULT_SOURCE_LIMITS.minBytesPerSecond);
      expect(() => checkSourceLimits({ ...facts, bytes })).not.toThrow();
    }
  }, 60_000);

  test("a duration under the cap whose frame count is over it", async () => {
    const bomb = await stretchedSource("many-frames.mp4", 19_999);
    const { error, files } = await attempt(bomb, {
      limits: { ...DEFAULT_SOURCE_LIMITS, maxFrames: 100_000 },
    });
    expect(error).toBeInstanceOf(InputError);
    // No usable frame rate in two frames 20,000 s apart: the ladder would fill them at 30 fps.
    expect((error as Error).message).toBe(
      "The video declares about 600,000 frames (20,000 s at 30 fps); the limit is 100,000 frames",
    );
    expect(files).toEqual([]);
  }, 60_000);

  test("8K at 240 fps: over the pixel rate", async () => {
    const path = join(dir, "8k240.mp4");
    const made = await runProcess([
      ...["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi"],
      ...["-i", "color=c=gray:s=7680x4320:r=240:d=0.01", "-frames:v", "2", "-c:v", "libx264"],
      ...["-preset", "ultrafast", path],
    ]);
    expect(made.exitCode).toBe(0);
    const { error, files } = await attempt(path);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      "The video declares 7680×4320 at 240 fps (7,962,624,000 pixels a second); " +
        "the limit is 995,328,000 pixels a second",
    );
    expect(files).toEqual([]);
  }, 60_000);

  test("the caps come from MAX_SOURCE_SECONDS, MAX_SOURCE_FRAMES, MAX_SOURCE_PIXEL_RATE, MIN_SOURCE_BYTES_PER_SECOND", () => {
    expect(loadTranscoderConfig({}).sourceLimits).toEqual({
      maxSeconds: 21_600,
      maxFrames: 1_296_000,
      maxPixelRate: 995_328_000,
      minBytesPerSecond: 100,
    });
    const tight = loadTranscoderConfig({
      MAX_SOURCE_SECONDS: "60",
      MAX_SOURCE_FRAMES: "1800",
      MAX_SOURCE_PIXEL_RATE: "27648000",
      MIN_SOURCE_BYTES_PER_SECOND: "0",
    });
    expect(tight.sourceLimits).toEqual({
      maxSeconds: 60,
      maxFrames: 1800,
      maxPixelRate: 27_648_000,
      minBytesPerSecond: 0,
    });
    expect(() => loadTranscoderConfig({ MAX_SOURCE_SECONDS: "6h" })).toThrow(/MAX_SOURCE_SECONDS/);
    expect(() => loadTranscoderConfig({ MIN_SOURCE_BYTES_PER_SECOND: "-1" })).toThrow(
      /MIN_SOURCE_BYTES_PER_SECOND/,
    );
  });
});

describe("the encode deadline", () => {
  // 60 s of media: 10 + 2 × 60 / 0.5 = 250 s allowed.
  const settings = { floorSeconds: 10, factor: 2, expectedSpeed: 0.5 };
  /** Feeds ticks every `stepMs` at `speed` until `untilMs`; returns the first reason to stop, if any. */
  const run = (deadline: EncodeDeadline, speed: number, untilMs: number, stepMs = 5_000) => {
    for (let at = stepMs; at <= untilMs; at += stepMs) {
      deadline.observe({ outTimeSeconds: Math.min(60, (at / 1000) * speed), speed }, at);
      const reason = deadline.overdue(at + 1);
      if (reason) return { at, reason };
    }
    return null;
  };

  test("a run at a healthy speed is left alone to the end", () => {
    expect(run(new EncodeDeadline(settings, 60, 0), 0.5, 120_000)).toBeNull();
    // Slower than expected but within the factor: still fine.
    expect(run(new EncodeDeadline(settings, 60, 0), 0.3, 200_000)).toBeNull();
  });

  test("a crawl is stopped once its own speed says it cannot finish in time, not at the end", () => {
    const stopped = run(new EncodeDeadline(settings, 60, 0), 0.05, 250_000);
    // 0.05×: 1200 s needed for 60 s; known as soon as the floor has passed.
    expect(stopped?.at).toBe(10_000);
    expect(stopped?.reason).toBe(
      "FFmpeg was stopped: at 0.050× real time it would need 1200 s for 00:01:00 of video, " +
        "more than the 250 s allowed (reached 00:00:00 of 00:01:00)",
    );
  });

  test("a run that slows down until it cannot finish within its allowance is stopped", () => {
    const deadline = new EncodeDeadline(settings, 60, 0);
    // Fast at first (no speed reported: measured from the position), then 0.01 s of media every 9 s.
    deadline.observe({ outTimeSeconds: 50, speed: null }, 5_000);
    let reason: string | null = null;
    let at = 14_000;
    for (let reached = 51; reason === null && at < 400_000; at += 9_000, reached += 0.01) {
      deadline.observe({ outTimeSeconds: reached, speed: null }, at);
      reason = deadline.overdue(at);
      if (at <= 200_000) expect(reason).toBeNull();
    }
    expect(at).toBeLessThanOrEqual(251_000);
    expect(reason).toMatch(
      /^FFmpeg was stopped: at 0\.2\d\d× real time it would need 25\d s for 00:01:00 of video, more than the 250 s allowed \(reached 00:00:51 of 00:01:00\)$/,
    );
  });

  test("a run whose media time stops advancing is stopped after the floor", () => {
    const deadline = new EncodeDeadline(settings, 3600, 0);
    deadline.observe({ outTimeSeconds: 30, speed: 3 }, 10_000);
    // Blocks keep coming, the position does not move.
    deadline.observe({ outTimeSeconds: 30, speed: 2.5 }, 15_000);
    expect(deadline.overdue(19_000)).toBeNull();
    expect(deadline.overdue(20_500)).toBe(
      "FFmpeg was stopped: it made no progress for 10 s (reached 00:00:30 of 01:00:00)",
    );
  });

  test("TRANSCODER_TIMEOUT_* configure it", () => {
    expect(loadTranscoderConfig({}).encodeTimeout).toEqual(DEFAULT_ENCODE_TIMEOUT);
    expect(
      loadTranscoderConfig({
        TRANSCODER_TIMEOUT_FLOOR_SECONDS: "30",
        TRANSCODER_TIMEOUT_FACTOR: "2.5",
        TRANSCODER_EXPECTED_SPEED: "0.25",
      }).encodeTimeout,
    ).toEqual({ floorSeconds: 30, factor: 2.5, expectedSpeed: 0.25 });
    expect(() => loadTranscoderConfig({ TRANSCODER_EXPECTED_SPEED: "fast" })).toThrow(
      /TRANSCODER_EXPECTED_SPEED/,
    );
  });
});

test("an FFmpeg that stops advancing is killed and the attempt fails with a readable message", async () => {
  const sourcePath = await generateVideo(join(dir, "stall.mp4"), {
    seconds: 10,
    width: 640,
    height: 360,
    fps: 30,
    audio: "stereo",
  });
  const outputDir = join(dir, "out-stalled");
  let frozen: number | null = null;
  let freezing: Promise<void> | undefined;
  const error = await transcode({
    sourcePath,
    outputDir,
    segmentSeconds: 2,
    preset: "ultrafast",
    thumbnails: false,
    encodeTimeout: { floorSeconds: 1, factor: 3, expectedSpeed: 0.1 },
    onProgress: (tick) => {
      // As soon as the ladder's FFmpeg exists, freeze it: a hung read would look the same to us.
      if (tick.stage !== "encoding" || freezing) return;
      freezing = (async () => {
        frozen = await waitForProcess("ffmpeg", outputDir);
        process.kill(frozen, "SIGSTOP");
      })();
    },
  }).then(
    () => null,
    (caught: unknown) => caught,
  );
  await freezing;
  expect(frozen).not.toBeNull();
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(
    /^FFmpeg was stopped: it made no progress for 1 s \(reached 00:00:\d\d of 00:00:10\)$/,
  );
  // Nothing that could be published: the run never finished its playlists or the master.
  const files = await readdir(outputDir, { recursive: true });
  expect(files).not.toContain("master.m3u8");
}, 60_000);
