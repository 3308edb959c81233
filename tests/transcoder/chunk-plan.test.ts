// Where a film is cut and the command lines of its pieces (no FFmpeg run here: chunks.test.ts runs them).
import { describe, expect, test } from "bun:test";
import {
  audioTracks,
  buildAudioCommand,
  buildChunkCommand,
  buildStitchCommand,
} from "../../transcoder/chunks/commands.ts";
import { stitchInvocation } from "../../transcoder/chunks/encode.ts";
import {
  DEFAULT_CHUNK_MIN_SECONDS,
  DEFAULT_CHUNK_SEGMENTS,
  planChunks,
  seeksExactly,
} from "../../transcoder/chunks/plan.ts";
import type { CommandSource } from "../../transcoder/ffmpeg-args.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";

const DEFAULTS = {
  minSeconds: DEFAULT_CHUNK_MIN_SECONDS,
  segments: DEFAULT_CHUNK_SEGMENTS,
  segmentSeconds: 6,
};
const SOURCE: CommandSource = {
  frameRate: 30000 / 1001,
  variableFrameRate: false,
  interlaced: false,
  rotation: 0,
  videoCodec: "h264",
  pixelFormat: "yuv420p",
  bitDepth: 8,
  audio: { channels: 2, sampleRate: 44100, codec: "aac" },
  demuxer: "mov",
};
const LADDER = chooseLadder(
  { width: 1280, height: 720, frameRate: SOURCE.frameRate, variableFrameRate: false, videoBitrate: null },
  { heights: [360, 720] },
);
const option = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];

describe("planChunks", () => {
  test("a film shorter than CHUNK_MIN_SECONDS takes the one-job path", () => {
    expect(planChunks(119.9, DEFAULTS)).toBeNull();
    expect(planChunks(0, DEFAULTS)).toBeNull();
  });

  test("cuts whole segments, 10 × 6 s by default, the last chunk taking the remainder", () => {
    expect(planChunks(150, DEFAULTS)).toEqual([
      { index: 0, startSeconds: 0, endSeconds: 60 },
      { index: 1, startSeconds: 60, endSeconds: 120 },
      { index: 2, startSeconds: 120, endSeconds: null },
    ]);
    // Exactly two chunks' worth: no empty third.
    expect(planChunks(120, DEFAULTS)?.map((chunk) => chunk.endSeconds)).toEqual([60, null]);
  });

  test("a remainder shorter than one segment joins the chunk before", () => {
    expect(planChunks(124, DEFAULTS)?.map((chunk) => chunk.startSeconds)).toEqual([0, 60]);
    expect(planChunks(126, DEFAULTS)?.map((chunk) => chunk.startSeconds)).toEqual([0, 60, 120]);
  });

  test("a film that makes one chunk anyway is not cut", () => {
    expect(planChunks(10, { minSeconds: 5, segments: 3, segmentSeconds: 4 })).toBeNull();
  });

  test("refuses a chunk of no segments", () => {
    expect(() => planChunks(500, { ...DEFAULTS, segments: 0 })).toThrow("whole segment");
  });
});

describe("the chunk command", () => {
  const argv = buildChunkCommand({
    sourcePath: "/in/source.mp4",
    outputPath: "/scratch/chunk_00002.ts",
    source: SOURCE,
    ladder: LADDER,
    segmentSeconds: 6,
    chunk: { index: 2, startSeconds: 120, endSeconds: 180 },
  });

  test("seeks a second early, puts the film's timestamps back and keeps exactly [start, end)", () => {
    expect(argv.indexOf("-ss")).toBeLessThan(argv.indexOf("-i"));
    expect(option(argv, "-ss")).toBe("119");
    // The offset the seek took off, given back exactly by the demuxer (a filter would round it).
    expect(option(argv, "-itsoffset")).toBe("119");
    expect(argv.indexOf("-itsoffset")).toBeLessThan(argv.indexOf("-i"));
    // The trim in microseconds, not in the fps filter's frame ticks (18 s at 29.97 rounded to frame 539).
    expect(option(argv, "-filter_complex")).toStartWith(
      "[0:v:0]fps=30000/1001,settb=AVTB,trim=start=120:end=180,split=2",
    );
  });

  test("forces keyframes on the film's segment grid, video only, MPEG-TS kept unshifted", () => {
    // Counted in film frames from the chunk's first, ceil(120 × 30000/1001) = 3597, from boundary 20.
    expect(option(argv, "-force_key_frames")).toBe("expr:gte((n+3597)*1001,(n_forced+20)*180000)");
    expect(argv.filter((arg) => arg === "-map")).toHaveLength(2);
    expect(argv).not.toContain("-c:a");
    expect(option(argv, "-avoid_negative_ts")).toBe("disabled");
    expect(argv[argv.lastIndexOf("-f") + 1]).toBe("mpegts");
    expect(argv.at(-1)).toBe("/scratch/chunk_00002.ts");
  });

  test("the first chunk does not seek, the last has no end", () => {
    const first = buildChunkCommand({
      sourcePath: "/in/source.mp4",
      outputPath: "/scratch/chunk_00000.ts",
      source: SOURCE,
      ladder: LADDER,
      segmentSeconds: 6,
      chunk: { index: 0, startSeconds: 0, endSeconds: 60 },
    });
    expect(first).not.toContain("-ss");
    expect(first).not.toContain("-itsoffset");
    expect(option(first, "-filter_complex")).toStartWith(
      "[0:v:0]fps=30000/1001:start_time=0,settb=AVTB,trim=end=60,",
    );
    expect(option(first, "-force_key_frames")).toBe("expr:gte(n*1001,n_forced*180000)");
    const last = buildChunkCommand({
      sourcePath: "/in/source.mp4",
      outputPath: "/scratch/chunk_00003.ts",
      source: SOURCE,
      ladder: LADDER,
      segmentSeconds: 6,
      chunk: { index: 3, startSeconds: 180, endSeconds: null },
    });
    expect(option(last, "-filter_complex")).toContain("trim=start=180,");
  });
});

describe("the sound and the stitch", () => {
  test("one AAC track per distinct bitrate of the ladder", () => {
    expect(audioTracks(LADDER)).toEqual({ bitrates: [96_000, 128_000], trackOfRung: [0, 1] });
    const argv = buildAudioCommand({
      sourcePath: "/in/s.mp4",
      outputPath: "/x/audio.ts",
      source: SOURCE,
      ladder: LADDER,
    });
    expect(option(argv, "-filter_complex")).toEndWith("asplit=2[a0][a1]");
    expect([option(argv, "-b:a:0"), option(argv, "-b:a:1")]).toEqual(["96000", "128000"]);
    expect(() =>
      buildAudioCommand({
        sourcePath: "/in/s.mp4",
        outputPath: "/x/a.ts",
        source: { ...SOURCE, audio: null },
        ladder: LADDER,
      }),
    ).toThrow("no sound");
  });

  test("reads the chunks as one stream and copies into the ladder's HLS muxer", () => {
    const argv = buildStitchCommand({
      chunkPaths: ["/s/chunk_00000.ts", "/s/chunk_00001.ts"],
      audioPath: "/s/audio.ts",
      outputDir: "/out",
      ladder: LADDER,
      segmentSeconds: 6,
    });
    expect(argv).toContain("concat:/s/chunk_00000.ts|/s/chunk_00001.ts");
    expect(argv).toContain("-copyts");
    expect(option(argv, "-c")).toBe("copy");
    expect(option(argv, "-var_stream_map")).toBe("v:0,a:0,name:360p v:1,a:1,name:720p");
    expect(option(argv, "-hls_segment_filename")).toBe("/out/%v/seg_%05d.ts");
    expect(() =>
      buildStitchCommand({
        chunkPaths: ["/s/a|b.ts"],
        audioPath: null,
        outputDir: "/o",
        ladder: LADDER,
        segmentSeconds: 6,
      }),
    ).toThrow("|");
  });

  test("a long film's chunks are named relative to their folder: one argument stays under Linux's 128 KiB", () => {
    // 3,000 chunks of 60 s (50 hours) under a deep folder: absolute, the concat argument was ~200 KiB.
    const folder = `/var/lib/videoflix/scratch/${"f".repeat(40)}/pieces`;
    const chunkPaths = Array.from(
      { length: 3000 },
      (_, i) => `${folder}/chunk_${String(i).padStart(5, "0")}.ts`,
    );
    const { argv, cwd } = stitchInvocation({
      chunkPaths,
      audioPath: `${folder}/audio.ts`,
      outputDir: "/out",
      ladder: LADDER,
      segmentSeconds: 6,
    });
    expect(cwd).toBe(folder);
    expect(Math.max(...argv.map((arg) => Buffer.byteLength(arg)))).toBeLessThan(128 * 1024);
    expect(argv).toContain(`${folder}/audio.ts`);
    expect(argv.find((arg) => arg.startsWith("concat:"))).toStartWith(
      "concat:chunk_00000.ts|chunk_00001.ts|",
    );
    // Chunks in different folders keep their absolute paths (and FFmpeg its working folder).
    const spread = stitchInvocation({
      chunkPaths: ["/a/chunk_00000.ts", "/b/chunk_00001.ts"],
      audioPath: null,
      outputDir: "/out",
      ladder: LADDER,
      segmentSeconds: 6,
    });
    expect(spread.cwd).toBeUndefined();
    expect(spread.argv).toContain("concat:/a/chunk_00000.ts|/b/chunk_00001.ts");
  });
});

describe("which sources may be cut", () => {
  test("indexed containers may (chunk-joins.test.ts cuts MP4, MKV and AVI); MPEG-TS/PS and raw streams take the one-job path", () => {
    for (const demuxer of ["mov", "matroska", "avi"]) expect(seeksExactly(demuxer)).toBe(true);
    for (const demuxer of ["mpegts", "mpeg", "h264", "hevc", "mpegvideo"])
      expect(seeksExactly(demuxer)).toBe(false);
    expect(seeksExactly(undefined)).toBe(false);
  });
});
