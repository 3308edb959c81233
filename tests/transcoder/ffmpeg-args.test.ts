import { describe, expect, test } from "bun:test";
import {
  buildLadderCommand,
  buildRungCommand,
  type CommandSource,
  frameRateArg,
  usesGpuDecode,
} from "../../transcoder/ffmpeg-args.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";

const SOURCE: CommandSource = {
  frameRate: 30,
  variableFrameRate: false,
  interlaced: false,
  rotation: 0,
  videoCodec: "h264",
  pixelFormat: "yuv420p",
  bitDepth: 8,
  audio: { channels: 6, sampleRate: 48_000, codec: "aac" },
};
const LADDER = chooseLadder({
  width: 1920,
  height: 1080,
  frameRate: 30,
  variableFrameRate: false,
  videoBitrate: null,
});

function command(
  source: Partial<CommandSource> = {},
  extra: Partial<Parameters<typeof buildLadderCommand>[0]> = {},
) {
  return buildLadderCommand({
    sourcePath: "/in/source.mp4",
    outputDir: "/out",
    source: { ...SOURCE, ...source },
    ladder: LADDER,
    segmentSeconds: 4,
    ...extra,
  });
}

/** The value after `flag` (the first occurrence). */
const option = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];
const options = (argv: string[], flag: string) =>
  argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1]] : []));

describe("buildLadderCommand", () => {
  test("decodes once and splits into one scaled stream per rung", () => {
    const argv = command();
    expect(argv.filter((arg) => arg === "-i")).toHaveLength(1);
    const graph = option(argv, "-filter_complex")!;
    // The frame rate always comes from the graph (a source's claimed rate may skip or delay frames).
    expect(graph).toContain("[0:v:0]fps=30:start_time=0,split=4[s0][s1][s2][s3]");
    expect(graph).toContain("[s0]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[v0]");
    expect(graph).toContain("[s3]scale=1920:1080:flags=bicubic,setsar=1,format=yuv420p[v3]");
    expect(graph).toContain("asplit=4[a0][a1][a2][a3]");
    expect(graph).not.toContain("yadif");
    expect(options(argv, "-map")).toEqual(["[v0]", "[a0]", "[v1]", "[a1]", "[v2]", "[a2]", "[v3]", "[a3]"]);
  });

  test("every rung: libx264 high, its own bitrates, keyframes on segment boundaries", () => {
    const argv = command({}, { preset: "ultrafast" });
    expect(option(argv, "-c:v")).toBe("libx264");
    expect(option(argv, "-profile:v")).toBe("high");
    expect(option(argv, "-preset")).toBe("ultrafast");
    // Frame n (film time n / 30) is the first at or after boundary n_forced·4 s: counted exactly.
    expect(option(argv, "-force_key_frames")).toBe("expr:gte(n*1,n_forced*120)");
    expect(option(argv, "-g")).toBe("120");
    expect(option(argv, "-keyint_min")).toBe("120");
    expect(option(argv, "-sc_threshold")).toBe("0");
    // The muxer neither duplicates nor drops: the fps filter made the frames.
    expect(option(argv, "-fps_mode")).toBe("passthrough");
    LADDER.forEach((rung, i) => {
      expect(option(argv, `-b:v:${i}`)).toBe(String(rung.videoBitrate));
      expect(option(argv, `-maxrate:v:${i}`)).toBe(String(rung.maxrate));
      expect(option(argv, `-bufsize:v:${i}`)).toBe(String(rung.bufsize));
      expect(option(argv, `-b:a:${i}`)).toBe(String(rung.audioBitrate));
    });
    expect(option(command(), "-preset")).toBe("veryfast");
  });

  test("audio becomes stereo AAC at 48 kHz", () => {
    const argv = command();
    expect(option(argv, "-c:a")).toBe("aac");
    expect(option(argv, "-ac")).toBe("2");
    expect(option(argv, "-ar")).toBe("48000");
    expect(option(argv, "-filter_complex")).toContain("channel_layouts=stereo");
  });

  test("HLS muxer: VOD, independent segments, one folder per rung", () => {
    const argv = command();
    expect(option(argv, "-f")).toBe("hls");
    expect(option(argv, "-hls_time")).toBe("4");
    expect(option(argv, "-hls_playlist_type")).toBe("vod");
    expect(option(argv, "-hls_flags")).toBe("independent_segments");
    expect(option(argv, "-hls_segment_type")).toBe("mpegts");
    expect(option(argv, "-hls_segment_filename")).toBe("/out/%v/seg_%05d.ts");
    expect(option(argv, "-var_stream_map")).toBe(
      "v:0,a:0,name:360p v:1,a:1,name:480p v:2,a:2,name:720p v:3,a:3,name:1080p",
    );
    expect(argv.at(-1)).toBe("/out/%v/index.m3u8");
    expect(option(argv, "-progress")).toBe("pipe:1");
    expect(argv).toContain("-nostats");
  });

  test("no audio: no audio maps, filters or codecs, and a video-only stream map", () => {
    const argv = command({ audio: null });
    expect(options(argv, "-map")).toEqual(["[v0]", "[v1]", "[v2]", "[v3]"]);
    expect(option(argv, "-filter_complex")).not.toContain("0:a");
    expect(argv).not.toContain("-c:a");
    expect(option(argv, "-var_stream_map")).toBe("v:0,name:360p v:1,name:480p v:2,name:720p v:3,name:1080p");
  });

  test("interlaced sources are deinterlaced once, VFR ones get a constant rate once", () => {
    const graph = option(
      command({ interlaced: true, variableFrameRate: true, frameRate: 17.05 }),
      "-filter_complex",
    )!;
    expect(graph.startsWith("[0:v:0]yadif=mode=send_frame,fps=30:start_time=0,split=4")).toBe(true);
  });

  test("a single rung needs no split", () => {
    const graph = option(command({}, { ladder: LADDER.slice(0, 1) }), "-filter_complex")!;
    expect(graph).not.toContain("split");
    expect(graph).toContain("[0:v:0]fps=30:start_time=0[s0];[s0]scale=640:360");
  });

  test("NVENC: CUDA decode and scaling, h264_nvenc with the same bitrates and forced IDR keyframes", () => {
    const argv = command({}, { hwaccel: "nvenc" });
    expect(option(argv, "-hwaccel")).toBe("cuda");
    expect(option(argv, "-hwaccel_output_format")).toBe("cuda");
    const graph = option(argv, "-filter_complex")!;
    expect(graph).toContain("[s0]scale_cuda=640:360:format=nv12,setsar=1[v0]");
    expect(graph).not.toContain("hwdownload");
    expect(option(argv, "-c:v")).toBe("h264_nvenc");
    expect(option(argv, "-preset")).toBe("p4");
    expect(option(argv, "-rc")).toBe("vbr");
    expect(option(argv, "-forced-idr")).toBe("1");
    expect(option(argv, "-force_key_frames")).toBe("expr:gte(n*1,n_forced*120)");
    expect(option(argv, "-b:v:3")).toBe(String(LADDER[3]!.videoBitrate));
  });

  test("cuda-decode: NVDEC and scale_cuda, then download for libx264", () => {
    const argv = command({ interlaced: true }, { hwaccel: "cuda-decode" });
    const graph = option(argv, "-filter_complex")!;
    expect(graph).toContain("yadif_cuda");
    expect(graph).toContain("scale_cuda=1280:720:format=nv12,setsar=1,hwdownload,format=nv12[v2]");
    expect(option(argv, "-c:v")).toBe("libx264");
  });

  test("sources NVDEC or CUDA filters cannot take are decoded on the CPU", () => {
    expect(usesGpuDecode({ source: SOURCE, hwaccel: "nvenc" })).toBe(true);
    expect(usesGpuDecode({ source: SOURCE, hwaccel: "none" })).toBe(false);
    expect(usesGpuDecode({ source: { ...SOURCE, rotation: 90 }, hwaccel: "nvenc" })).toBe(false);
    expect(
      usesGpuDecode({ source: { ...SOURCE, bitDepth: 10, pixelFormat: "yuv420p10le" }, hwaccel: "nvenc" }),
    ).toBe(false);
    expect(
      usesGpuDecode({
        source: { ...SOURCE, videoCodec: "hevc", bitDepth: 10, pixelFormat: "yuv420p10le" },
        hwaccel: "nvenc",
      }),
    ).toBe(true);
    expect(usesGpuDecode({ source: { ...SOURCE, pixelFormat: "yuv444p" }, hwaccel: "cuda-decode" })).toBe(
      false,
    );
    const rotated = command({ rotation: 90 }, { hwaccel: "nvenc" });
    expect(rotated).not.toContain("-hwaccel");
    expect(option(rotated, "-c:v")).toBe("h264_nvenc");
  });
});

describe("buildRungCommand", () => {
  test("one rung per process, with the same encoder settings", () => {
    const rung = LADDER[2]!;
    const argv = buildRungCommand({
      sourcePath: "/in/source.mp4",
      outputDir: "/out",
      source: { ...SOURCE, interlaced: true },
      rung,
      segmentSeconds: 4,
      preset: "ultrafast",
    });
    const ladderArgv = command({ interlaced: true }, { preset: "ultrafast" });
    expect(option(argv, "-vf")).toBe(
      "yadif=mode=send_frame,fps=30:start_time=0,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p",
    );
    expect(option(argv, "-b:v")).toBe(String(rung.videoBitrate));
    for (const flag of [
      "-c:v",
      "-profile:v",
      "-preset",
      "-force_key_frames",
      "-g",
      "-keyint_min",
      "-sc_threshold",
      "-hls_time",
    ]) {
      expect(option(argv, flag)).toBe(option(ladderArgv, flag)!);
    }
    expect(option(argv, "-var_stream_map")).toBe("v:0,a:0,name:720p");
  });
});

test("frame rates are passed as exact ratios", () => {
  expect(frameRateArg(30000 / 1001)).toBe("30000/1001");
  expect(frameRateArg(59.94)).toBe("60000/1001");
  expect(frameRateArg(25)).toBe("25");
  expect(frameRateArg(12.5)).toBe("12.500");
});
