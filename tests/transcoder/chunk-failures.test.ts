// How the chunked ladder's pieces fail: a chunk that stops early is judged on its own length, not the
// film's, and the stitch, which reads only our own intermediates, never blames the upload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stitchLadder } from "../../transcoder/chunks/encode.ts";
import { InputError } from "../../transcoder/errors.ts";
import { failOnFfmpegError } from "../../transcoder/ffmpeg-failure.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";

const DAMAGED = { exitCode: 0, signalCode: null, timedOut: false, stderr: "Packet corrupt (stream = 0)" };

describe("a chunk that stops early", () => {
  test("is short by its own length: 10 s of the chunk 3600–3660 s is the upload's damage at 1:00:10", () => {
    // Against the film's end (3660 s) the 2 % tolerance was 73 s: longer than the chunk itself.
    const judge = () => failOnFfmpegError(DAMAGED, 3610, { durationSeconds: 3660, fromSeconds: 3600 });
    expect(judge).toThrow(InputError);
    expect(judge).toThrow("The video cannot be decoded after 01:00:10");
  });

  test("a chunk that got within the tolerance of its end passes, as the one pass does", () => {
    expect(() =>
      failOnFfmpegError(DAMAGED, 3659, { durationSeconds: 3660, fromSeconds: 3600 }),
    ).not.toThrow();
  });
});

describe("the stitch", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chunk-failures-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("fails on a damaged intermediate with this host's error (retried), never an InputError", async () => {
    const chunk = join(dir, "chunk_00000.ts");
    // Not MPEG-TS at all: FFmpeg says "Invalid data found when processing input".
    await writeFile(chunk, "this is not a transport stream\n".repeat(200));
    const ladder = chooseLadder(
      { width: 320, height: 180, frameRate: 30, variableFrameRate: false, videoBitrate: null },
      { heights: [180] },
    );
    const stitched = stitchLadder({
      chunkPaths: [chunk],
      audioPath: null,
      outputDir: join(dir, "out"),
      ladder,
      segmentSeconds: 2,
      durationSeconds: 4,
    });
    const error = await stitched.then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(InputError);
    expect(error?.message).toStartWith("the stitch failed (FFmpeg exit");
  });
});
