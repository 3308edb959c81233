// The pieces of a chunked ladder when things go wrong, on real FFmpeg: a source damaged in its middle
// fails that chunk with one plain sentence (the chunks before it still encode), a cancelled chunk leaves
// nothing behind, the stitch refuses a missing chunk, and a silent film is stitched without sound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { encodeChunk, stitchLadder } from "../../transcoder/chunks/encode.ts";
import { InputError } from "../../transcoder/errors.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { probeSource, type SourceFacts } from "../../transcoder/probe.ts";
import { streamsOf } from "../support/ffprobe.ts";

let dir: string;
let damagedPath: string;
let damaged: SourceFacts;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chunk-pieces-"));
  // Index at the front, the middle fifth of the data cut out: what follows it is read from wrong offsets.
  const whole = await generateVideo(join(dir, "whole.mp4"), {
    seconds: 24,
    width: 320,
    height: 180,
    fps: 25,
    audio: "none",
    faststart: true,
  });
  const bytes = await readFile(whole);
  const cut = [Math.floor(bytes.length * 0.4), Math.floor(bytes.length * 0.6)];
  damagedPath = join(dir, "damaged.mp4");
  await writeFile(damagedPath, Buffer.concat([bytes.subarray(0, cut[0]), bytes.subarray(cut[1])]));
  damaged = await probeSource(damagedPath);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chunkOf = (source: SourceFacts, startSeconds: number, endSeconds: number | null, name: string) => ({
  sourcePath: damagedPath,
  outputPath: join(dir, "scratch", name),
  source,
  ladder: chooseLadder(source, { heights: [180] }),
  segmentSeconds: 2,
  chunk: { index: 0, startSeconds, endSeconds },
  videoSeconds: source.durationSeconds,
  preset: "ultrafast",
});

describe("a chunk of a damaged source", () => {
  test("the chunks before the damage encode", async () => {
    await encodeChunk(chunkOf(damaged, 0, 8, "first.ts"));
    expect(existsSync(join(dir, "scratch", "first.ts"))).toBe(true);
  });

  test("the damaged chunk fails as the upload's fault, saying from when, and leaves no file", async () => {
    const failure = await encodeChunk(chunkOf(damaged, 8, 16, "middle.ts")).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^The video cannot be decoded after 00:00:(0[89]|1[0-5]): the file is damaged/);
    expect(readdirSync(join(dir, "scratch"))).toEqual(["first.ts"]);
  });

  test("a chunk past the damage says where it starts, not 00:00:00", async () => {
    const failure = await encodeChunk(chunkOf(damaged, 16, null, "last.ts")).catch((error: unknown) => error);
    expect((failure as Error).message).toMatch(/after 00:00:(1[6-9]|2[0-3])/);
  });
});

describe("a cancelled chunk", () => {
  test("rejects and leaves neither the chunk nor its partial file", async () => {
    const controller = new AbortController();
    const running = encodeChunk(chunkOf(damaged, 0, 8, "cancelled.ts"), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(await running.catch((error: unknown) => (error as Error).name)).toBe("AbortError");
    const left = readdirSync(join(dir, "scratch"));
    expect(left.filter((name) => name.startsWith("cancelled"))).toEqual([]);
  });
});

describe("the stitch", () => {
  test("refuses a chunk that is not there", async () => {
    const stitching = stitchLadder({
      chunkPaths: [join(dir, "scratch", "first.ts"), join(dir, "scratch", "nowhere.ts")],
      audioPath: null,
      outputDir: join(dir, "stitched"),
      ladder: chooseLadder(damaged, { heights: [180] }),
      segmentSeconds: 2,
      durationSeconds: 16,
    });
    await expect(stitching).rejects.toThrow(/nowhere\.ts is missing or empty/);
  });
});

describe("a silent film in chunks", () => {
  test("is stitched without sound into the one-pass playlists", async () => {
    const sourcePath = await generateVideo(join(dir, "silent.mp4"), {
      seconds: 12,
      width: 320,
      height: 180,
      fps: 24,
      audio: "none",
    });
    const run = (name: string, minSeconds: number) =>
      transcode({
        sourcePath,
        outputDir: join(dir, name),
        ladderHeights: [180],
        segmentSeconds: 2,
        preset: "ultrafast",
        thumbnails: false,
        chunking: { minSeconds, segments: 2, scratchDir: join(dir, `${name}-scratch`) },
      });
    const [whole, chunked] = [await run("silent-whole", 60), await run("silent-chunked", 5)];
    expect(chunked.renditions[0]!.codecs).toBe(whole.renditions[0]!.codecs);
    expect(chunked.renditions[0]!.codecs).not.toContain("mp4a");
    const playlist = (name: string) => Bun.file(join(dir, name, "180p", "index.m3u8")).text();
    expect(await playlist("silent-chunked")).toBe(await playlist("silent-whole"));
    const streams = await streamsOf(join(dir, "silent-chunked", "180p", "seg_00003.ts"));
    expect(streams.map((stream) => stream.codec_type)).toEqual(["video"]);
  }, 60_000);
});
