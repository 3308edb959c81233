// The progressive MP4 of every rung, made by the pipeline from a real transcode (3 s 640×360 with sound,
// 1 s segments, rungs 180p and 360p; and a silent one): index before media as ffprobe itself reads the
// file, as long as the rung's HLS within a frame, and the very same pictures and sound (a stream copy:
// decoded frame by frame, the MP4 and the HLS are identical, which no second encode could be).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TranscodeResult } from "../../contract/media.ts";
import { generateVideo } from "../../dev/media.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import {
  addProgressiveMp4s,
  buildRemuxCommand,
  mp4Problem,
  PROGRESSIVE_MP4,
  playlistDuration,
  readMp4,
  remuxRung,
  topLevelBoxes,
} from "../../transcoder/hls/progressive-mp4.ts";
import { transcode } from "../../transcoder/pipeline.ts";

let dir: string;
let outputDir: string;
let silentDir: string;
let result: TranscodeResult;
let silent: TranscodeResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vf-progressive-mp4-"));
  const [sourcePath, silentSource] = await Promise.all([
    generateVideo(join(dir, "source.mp4"), { seconds: 3, width: 640, height: 360, fps: 25, audio: "stereo" }),
    generateVideo(join(dir, "silent.mp4"), { seconds: 2, width: 320, height: 180, fps: 30, audio: "none" }),
  ]);
  outputDir = join(dir, "out");
  silentDir = join(dir, "silent");
  const common = { segmentSeconds: 1, preset: "ultrafast", thumbnails: false } as const;
  result = await transcode({ ...common, sourcePath, outputDir, ladderHeights: [180, 360] });
  silent = await transcode({
    ...common,
    sourcePath: silentSource,
    outputDir: silentDir,
    ladderHeights: [180],
  });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ffprobe<T>(args: string[]): Promise<T> {
  const run = await runProcess(["ffprobe", "-v", "error", "-print_format", "json", ...args], {
    timeoutMs: 30_000,
  });
  if (run.exitCode !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as T;
}

/** The top-level atoms in the order ffprobe's own MP4 reader meets them (its trace log). */
async function atomsSeenByFfprobe(path: string): Promise<string[]> {
  const run = await runProcess(["ffprobe", "-v", "trace", "-hide_banner", path], { timeoutMs: 30_000 });
  return [...run.stderr.matchAll(/type:'(\w{4})' parent:'root'/g)].map((match) => match[1]!);
}

/** One MD5 per decoded frame of the stream (`v` or `a`), in order. */
async function frameHashes(input: string[], stream: "v" | "a"): Promise<string[]> {
  const run = await runProcess(
    ["ffmpeg", "-v", "error", ...input, "-map", `0:${stream}:0`, "-f", "framemd5", "-"],
    { timeoutMs: 60_000 },
  );
  if (run.exitCode !== 0) throw new Error(run.stderr);
  return run.stdout
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(",").at(-1)!.trim());
}

const hlsInput = (folder: string) => ["-allowed_extensions", "ts", "-i", join(folder, "index.m3u8")];

interface StreamParameters {
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
}

async function streamParameters(input: string[]): Promise<StreamParameters[]> {
  const entries =
    "stream=codec_type,codec_name,profile,level,width,height,pix_fmt,avg_frame_rate,sample_rate,channels,nb_read_frames";
  const report = await ffprobe<{ streams: StreamParameters[] }>([
    "-count_frames",
    "-show_entries",
    entries,
    ...input,
  ]);
  return report.streams;
}

describe("the pipeline's progressive MP4s", () => {
  test("every rung lists its MP4 with its size, beside its segments", async () => {
    expect(result.renditions.map((rendition) => rendition.mp4?.path)).toEqual([
      `180p/${PROGRESSIVE_MP4}`,
      `360p/${PROGRESSIVE_MP4}`,
    ]);
    for (const rendition of [...result.renditions, ...silent.renditions]) {
      const root = silent.renditions.includes(rendition) ? silentDir : outputDir;
      expect(rendition.mp4!.size).toBe(Bun.file(join(root, rendition.mp4!.path)).size);
      expect(rendition.mp4!.size).toBeGreaterThan(10_000);
    }
  });

  test("ffprobe reads moov before mdat (fast start), and the box walk agrees", async () => {
    for (const path of [
      join(outputDir, "180p", PROGRESSIVE_MP4),
      join(outputDir, "360p", PROGRESSIVE_MP4),
      join(silentDir, "180p", PROGRESSIVE_MP4),
    ]) {
      const atoms = await atomsSeenByFfprobe(path);
      expect(atoms[0]).toBe("ftyp");
      expect(atoms.indexOf("moov")).toBeGreaterThan(-1);
      expect(atoms.indexOf("moov")).toBeLessThan(atoms.indexOf("mdat"));
      expect(await topLevelBoxes(path)).toEqual(atoms);
    }
  });

  test("each lasts as long as its HLS, within one frame", async () => {
    for (const [root, transcoded] of [
      [outputDir, result],
      [silentDir, silent],
    ] as const) {
      for (const rendition of transcoded.renditions) {
        const hlsSeconds = await playlistDuration(join(root, rendition.name));
        const { format, streams } = await ffprobe<{
          format: { duration: string };
          streams: { codec_type: string; duration: string }[];
        }>(["-show_entries", "format=duration:stream=codec_type,duration", join(root, rendition.mp4!.path)]);
        const frame = 1 / rendition.frameRate;
        // The file as a player reports it, and its picture track alone (what EXTINF measures).
        expect(Math.abs(Number(format.duration) - hlsSeconds)).toBeLessThanOrEqual(frame);
        const video = streams.find((stream) => stream.codec_type === "video")!;
        expect(Math.abs(Number(video.duration) - hlsSeconds)).toBeLessThanOrEqual(frame);
        expect(Math.abs(hlsSeconds - transcoded.durationSeconds)).toBeLessThan(0.1);
      }
    }
  });

  test("no second encode: the same codec parameters, frame for frame the same pictures and sound", async () => {
    for (const rendition of result.renditions) {
      const folder = join(outputDir, rendition.name);
      const mp4 = ["-i", join(outputDir, rendition.mp4!.path)];
      const [fromHls, fromMp4] = await Promise.all([
        streamParameters(hlsInput(folder)),
        streamParameters(mp4),
      ]);
      expect(fromMp4.map((stream) => stream.codec_type)).toEqual(["video", "audio"]);
      expect(fromMp4).toEqual(fromHls);
      expect(fromMp4[0]).toMatchObject({
        codec_name: "h264",
        width: rendition.width,
        height: rendition.height,
      });
      for (const stream of ["v", "a"] as const) {
        const [hlsFrames, mp4Frames] = await Promise.all([
          frameHashes(hlsInput(folder), stream),
          frameHashes(mp4, stream),
        ]);
        expect(mp4Frames.length).toBeGreaterThan(stream === "v" ? 70 : 100);
        expect(mp4Frames).toEqual(hlsFrames);
      }
    }
  }, 60_000);

  test("a silent rung's MP4 has no sound track", async () => {
    const facts = await readMp4(join(silentDir, silent.renditions[0]!.mp4!.path));
    expect(facts.hasAudio).toBe(false);
    const streams = await streamParameters(["-i", join(silentDir, silent.renditions[0]!.mp4!.path)]);
    expect(streams.map((stream) => stream.codec_type)).toEqual(["video"]);
  });
});

describe("remuxRung refuses what it must not list", () => {
  test("the input is read hardened: local files only, the HLS demuxer forced, .ts segments only", () => {
    const argv = buildRemuxCommand({ folder: "/m/720p", outputPath: "/m/720p/x.mp4", audio: true });
    const input = argv.slice(0, argv.indexOf("-i") + 2);
    expect(input).toEqual(
      expect.arrayContaining(["-protocol_whitelist", "file", "-allowed_extensions", "ts", "-f", "hls"]),
    );
    expect(input.at(-1)).toBe("/m/720p/index.m3u8");
    expect(argv).toEqual(expect.arrayContaining(["-c", "copy", "-bsf:a", "aac_adtstoasc", "+faststart"]));
    expect(buildRemuxCommand({ folder: "/m", outputPath: "/m/x.mp4", audio: false })).not.toContain("-bsf:a");
  });

  test("a playlist naming a file outside its folder, or by a URL, is refused before FFmpeg runs", async () => {
    for (const uri of ["../360p/seg_00000.ts", "file:seg_00000.ts", "/etc/hostname", "seg_00000.mp4"]) {
      const folder = join(dir, `escape-${readdirSync(dir).length}`);
      mkdirSync(folder);
      writeFileSync(
        join(folder, "index.m3u8"),
        `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${uri}\n#EXT-X-ENDLIST\n`,
      );
      await expect(
        remuxRung(folder, join(folder, "out.mp4"), { audio: true, frameRate: 25 }),
      ).rejects.toThrow(/is not a \.ts file of its folder/);
    }
  });

  test("a rung whose segment is gone fails with a readable reason", async () => {
    const folder = join(dir, "broken-360p");
    mkdirSync(folder);
    copyFileSync(join(outputDir, "360p", "index.m3u8"), join(folder, "index.m3u8"));
    copyFileSync(join(outputDir, "360p", "seg_00000.ts"), join(folder, "seg_00000.ts"));
    const remux = remuxRung(folder, join(folder, "out.mp4"), { audio: true, frameRate: 25 });
    await expect(remux).rejects.toThrow(/^MP4 of broken-360p: /);
  });

  test("a file with its index after its media is not fast-start", async () => {
    const slow = join(dir, "slow.mp4");
    const argv = buildRemuxCommand({ folder: join(outputDir, "180p"), outputPath: slow, audio: true });
    const run = await runProcess(argv.filter((arg) => arg !== "-movflags" && arg !== "+faststart"));
    expect(run.exitCode).toBe(0);
    const facts = await readMp4(slow);
    expect(facts.boxes.indexOf("mdat")).toBeLessThan(facts.boxes.indexOf("moov"));
    const playlistSeconds = await playlistDuration(join(outputDir, "180p"));
    expect(mp4Problem(facts, { playlistSeconds, frameRate: 25, audio: true })).toMatch(/not fast-start/);
  });

  test("a file shorter than its playlist by more than a frame, or without the sound it should have", async () => {
    const facts = await readMp4(join(outputDir, "180p", PROGRESSIVE_MP4));
    const playlistSeconds = await playlistDuration(join(outputDir, "180p"));
    expect(mp4Problem(facts, { playlistSeconds, frameRate: 25, audio: true })).toBeNull();
    expect(
      mp4Problem(facts, { playlistSeconds: playlistSeconds + 0.05, frameRate: 25, audio: true }),
    ).toMatch(/^lasts .* but the playlist/);
    expect(mp4Problem({ ...facts, hasAudio: false }, { playlistSeconds, frameRate: 25, audio: true })).toBe(
      "sound is missing",
    );
  });
});

describe("a rung whose MP4 fails is published without it", () => {
  /** A copy of the pipeline's tree without its MP4s, the 360p rung missing its last segment. */
  function brokenTree(name: string) {
    const tree = join(dir, name);
    for (const rung of ["180p", "360p"]) {
      cpSync(join(outputDir, rung), join(tree, rung), { recursive: true });
      rmSync(join(tree, rung, PROGRESSIVE_MP4));
    }
    const segments = readdirSync(join(tree, "360p")).filter((file) => file.endsWith(".ts"));
    rmSync(join(tree, "360p", segments.sort().at(-1)!));
    return tree;
  }
  const renditions = () => result.renditions.map(({ mp4: _mp4, ...rendition }) => rendition);

  test("the others keep theirs; the reason is logged at warn and reported; nothing half-written stays", async () => {
    const tree = brokenTree("one-rung-fails");
    const warnings: { details: object; message?: string }[] = [];
    const failures: [string, string][] = [];
    const listed = await addProgressiveMp4s(tree, renditions(), {
      audio: true,
      log: { debug() {}, info() {}, warn: (details, message) => warnings.push({ details, message }) },
      onRemuxFailed: (rendition, reason) => failures.push([rendition, reason]),
    });
    expect(listed.map((rendition) => rendition.name)).toEqual(["180p", "360p"]);
    expect(listed[0]?.mp4?.path).toBe(`180p/${PROGRESSIVE_MP4}`);
    expect(listed[1]).toEqual(renditions()[1]!);
    expect(listed[1]?.mp4).toBeUndefined();
    expect(existsSync(join(tree, "360p", PROGRESSIVE_MP4))).toBe(false);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.[0]).toBe("360p");
    expect(failures[0]?.[1]).toMatch(/^MP4 of 360p: /);
    expect(warnings).toEqual([
      {
        details: { rendition: "360p", reason: failures[0]![1] },
        message: "progressive MP4 remux failed: the rung is published without its MP4",
      },
    ]);
  }, 60_000);

  test("the pipeline still ends with its result: every rung, the one whose MP4 failed without it", async () => {
    // The 180p rung's MP4 cannot be written (a folder holds its name): its remux fails, its HLS is fine.
    const blocked = join(dir, "blocked");
    mkdirSync(join(blocked, "180p", PROGRESSIVE_MP4), { recursive: true });
    writeFileSync(join(blocked, "180p", PROGRESSIVE_MP4, "in-the-way"), "");
    const warnings: string[] = [];
    const failures: string[] = [];
    const done = await transcode({
      sourcePath: join(dir, "source.mp4"),
      outputDir: blocked,
      ladderHeights: [180, 360],
      segmentSeconds: 1,
      preset: "ultrafast",
      thumbnails: false,
      log: { debug() {}, info() {}, warn: (_details, message) => warnings.push(message ?? "") },
      onMp4RemuxFailed: (rendition) => failures.push(rendition),
    });
    expect(done.renditions.map((rendition) => rendition.name)).toEqual(["180p", "360p"]);
    expect(done.renditions[0]?.mp4).toBeUndefined();
    expect(done.renditions[1]?.mp4?.path).toBe(`360p/${PROGRESSIVE_MP4}`);
    expect(failures).toEqual(["180p"]);
    expect(warnings).toContain("progressive MP4 remux failed: the rung is published without its MP4");
    // Nothing of it is left to publish; the rung's HLS is all there.
    expect(existsSync(join(blocked, "180p", PROGRESSIVE_MP4))).toBe(false);
    expect(await playlistDuration(join(blocked, "180p"))).toBeGreaterThan(2.9);
  }, 120_000);

  test("a cancel still stops the job", async () => {
    const tree = brokenTree("cancelled");
    const controller = new AbortController();
    controller.abort(new Error("the job was cancelled"));
    const failures: string[] = [];
    await expect(
      addProgressiveMp4s(tree, renditions(), {
        audio: true,
        signal: controller.signal,
        onRemuxFailed: (rendition) => failures.push(rendition),
      }),
    ).rejects.toThrow("the job was cancelled");
    expect(failures).toEqual([]);
  }, 60_000);
});
