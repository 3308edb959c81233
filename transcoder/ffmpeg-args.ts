// The FFmpeg command lines. The ladder is one process: decode once, deinterlace and fix the frame
// rate once, split, scale per rung, encode every rung with keyframes at the same instants (every
// segment boundary), and let the HLS muxer write one folder per rung.
import { join } from "node:path";
import type { HwAccelMode } from "./hwaccel/modes.ts";
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE, type Rung } from "./ladder.ts";
import type { SourceFacts } from "./probe.ts";
import { sourceInputArgs } from "./source-input.ts";

export type CommandSource = Pick<
  SourceFacts,
  "frameRate" | "variableFrameRate" | "interlaced" | "rotation" | "videoCodec" | "pixelFormat" | "bitDepth"
> & { audio: SourceFacts["audio"] | null; demuxer?: string };

export interface LadderCommandInput {
  sourcePath: string;
  outputDir: string;
  source: CommandSource;
  ladder: readonly Rung[];
  segmentSeconds: number;
  /** x264 preset (NVENC always uses p4). */
  preset?: string;
  hwaccel?: HwAccelMode;
}

export const SEGMENT_PATTERN = "seg_%05d.ts";
export const MEDIA_PLAYLIST = "index.m3u8";
const DEFAULT_PRESET = "veryfast";

/** One FFmpeg process for the whole ladder. */
export function buildLadderCommand(input: LadderCommandInput): string[] {
  const { source, ladder } = input;
  if (ladder.length === 0) throw new Error("the ladder has no rungs");
  const gpuDecode = usesGpuDecode(input);
  const count = ladder.length;
  const [first] = ladder;
  const head = sharedVideoFilters(source, first!.frameRate, gpuDecode);
  const fanOut = count > 1 ? [`split=${count}${ladder.map((_, i) => `[s${i}]`).join("")}`] : [];
  const graph = [`[0:v:0]${[...head, ...fanOut].join(",") || "null"}${count > 1 ? "" : "[s0]"}`];
  ladder.forEach((rung, i) => {
    graph.push(`[s${i}]${scaleFilters(rung, gpuDecode, input.hwaccel ?? "none").join(",")}[v${i}]`);
  });
  if (source.audio) {
    const audioFanOut = count > 1 ? `,asplit=${count}${ladder.map((_, i) => `[a${i}]`).join("")}` : "[a0]";
    graph.push(`[0:a:0]${audioFilters().join(",")}${audioFanOut}`);
  }

  const argv = [...commonInput(input, gpuDecode), "-filter_complex", graph.join(";")];
  ladder.forEach((_, i) => {
    argv.push("-map", `[v${i}]`);
    if (source.audio) argv.push("-map", `[a${i}]`);
  });
  argv.push(...videoEncoderArgs(input));
  ladder.forEach((rung, i) => {
    argv.push(`-b:v:${i}`, String(rung.videoBitrate), `-maxrate:v:${i}`, String(rung.maxrate));
    argv.push(`-bufsize:v:${i}`, String(rung.bufsize));
  });
  if (source.audio) {
    argv.push("-c:a", "aac", "-ac", String(AUDIO_CHANNELS), "-ar", String(AUDIO_SAMPLE_RATE));
    ladder.forEach((rung, i) => {
      argv.push(`-b:a:${i}`, String(rung.audioBitrate));
    });
  }
  const streamMap = ladder
    .map((rung, i) => `v:${i},${source.audio ? `a:${i},` : ""}name:${rung.name}`)
    .join(" ");
  argv.push(...hlsMuxerArgs(input.outputDir, input.segmentSeconds, streamMap));
  return argv;
}

/**
 * One rung in its own process, with the very same encoder settings: what the ladder is compared
 * against (N processes decode the source N times).
 */
export function buildRungCommand(input: Omit<LadderCommandInput, "ladder"> & { rung: Rung }): string[] {
  const { source, rung } = input;
  const gpuDecode = usesGpuDecode(input);
  const hwaccel = input.hwaccel ?? "none";
  const video = [
    ...sharedVideoFilters(source, rung.frameRate, gpuDecode),
    ...scaleFilters(rung, gpuDecode, hwaccel),
  ];
  const argv = [...commonInput(input, gpuDecode), "-map", "0:v:0", "-vf", video.join(",")];
  if (source.audio) argv.push("-map", "0:a:0", "-af", audioFilters().join(","));
  argv.push(...videoEncoderArgs(input));
  argv.push(
    "-b:v",
    String(rung.videoBitrate),
    "-maxrate",
    String(rung.maxrate),
    "-bufsize",
    String(rung.bufsize),
  );
  if (source.audio) {
    argv.push("-c:a", "aac", "-ac", String(AUDIO_CHANNELS), "-ar", String(AUDIO_SAMPLE_RATE));
    argv.push("-b:a", String(rung.audioBitrate));
  }
  const streamMap = `v:0,${source.audio ? "a:0," : ""}name:${rung.name}`;
  argv.push(...hlsMuxerArgs(input.outputDir, input.segmentSeconds, streamMap));
  return argv;
}

/** The fast-start pass's x264 settings: fast enough to stay well ahead of a viewer on two cores. */
export const FAST_START_PRESET = "superfast";

/**
 * The fast-start pass (docs/fast-start.md): one low rung with the ladder's segment length and keyframe
 * grid, an EVENT playlist FFmpeg extends as each segment completes (segments renamed into place whole).
 * The decoder skips the in-loop deblocking filter: invisible once 1080p is scaled down to 360p, and the
 * decode of a large source is most of this pass's cost.
 */
export function buildFastStartCommand(input: Omit<LadderCommandInput, "ladder"> & { rung: Rung }): string[] {
  const { source, rung } = input;
  const hwaccel = input.hwaccel ?? "none";
  const gpuDecode = usesGpuDecode(input);
  const video = [
    ...sharedVideoFilters(source, rung.frameRate, gpuDecode),
    ...scaleFilters(rung, gpuDecode, hwaccel, "fast_bilinear"),
  ];
  const argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"];
  if (gpuDecode) argv.push("-hwaccel", "cuda", "-hwaccel_output_format", "cuda");
  else argv.push("-skip_loop_filter", "all");
  argv.push(...sourceInputArgs(input.sourcePath, source.demuxer));
  argv.push("-map", "0:v:0", "-vf", video.join(","));
  if (source.audio) argv.push("-map", "0:a:0", "-af", audioFilters().join(","));
  // No `-tune zerolatency`: its sliced threads measured no faster than frame threads on two cores.
  argv.push(...videoEncoderArgs({ ...input, preset: input.preset ?? FAST_START_PRESET }));
  argv.push("-b:v", String(rung.videoBitrate), "-maxrate", String(rung.maxrate));
  argv.push("-bufsize", String(rung.bufsize));
  if (source.audio) {
    argv.push("-c:a", "aac", "-ac", String(AUDIO_CHANNELS), "-ar", String(AUDIO_SAMPLE_RATE));
    argv.push("-b:a", String(rung.audioBitrate));
  }
  const streamMap = `v:0,${source.audio ? "a:0," : ""}name:${rung.name}`;
  argv.push(...hlsMuxerArgs(input.outputDir, input.segmentSeconds, streamMap, "event"));
  return argv;
}

/**
 * Whether the source is decoded on the GPU. FFmpeg's automatic rotation runs on the CPU, NVDEC has
 * no 10-bit H.264 and no 4:2:2/4:4:4 here: those sources are decoded on the CPU (NVENC still encodes).
 */
export function usesGpuDecode(input: { source: CommandSource; hwaccel?: HwAccelMode }): boolean {
  const { source, hwaccel = "none" } = input;
  if (hwaccel === "none" || source.rotation !== 0) return false;
  if (!/^(yuv420p|yuvj420p|nv12|p010le|yuv420p10le)$/.test(source.pixelFormat)) return false;
  if (source.videoCodec === "h264") return source.bitDepth === 8;
  return ["hevc", "vp9", "av1", "mpeg2video", "vp8", "mpeg4", "vc1"].includes(source.videoCodec);
}

/**
 * FFmpeg and the hardened source input; `seekSeconds` starts decoding there (a chunk's pre-roll).
 * `-ss` alone rebases the timestamps to the seek point; `-itsoffset` by the same amount gives them back
 * the one offset the one-pass ladder applies (minus the source's start time), exactly: a filter such as
 * `setpts=PTS+seek/TB` truncates to the stream's tick and shifts a whole chunk by a frame (AVI 1001/24000).
 */
export function commonInput(
  input: { sourcePath: string; source: CommandSource },
  gpuDecode: boolean,
  seekSeconds = 0,
): string[] {
  const argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"];
  if (gpuDecode) argv.push("-hwaccel", "cuda", "-hwaccel_output_format", "cuda");
  if (seekSeconds > 0) argv.push("-itsoffset", String(seekSeconds), "-ss", String(seekSeconds));
  argv.push(...sourceInputArgs(input.sourcePath, input.source.demuxer));
  return argv;
}

/**
 * Once per source: deinterlace, then a constant frame rate (FFmpeg's autorotation runs before). The fps
 * filter runs always, even on a source that claims the rung's rate: the frame sequence then comes from
 * the filter graph alone (the outputs pass it through, videoEncoderArgs), on a grid of film time
 * k / rate, so a chunk that starts mid-film gets the very frames of one pass. Left to the muxers, the HLS
 * output filled gaps (a dropped frame, video starting after audio) and a chunk's MPEG-TS did not.
 * `fromStart` (a pass that reads the film from its start): the first frame is frame 0 of that grid,
 * repeated back to film time 0 when the picture starts after the sound, so frame n is always film
 * frame n and the keyframes can be counted in frames (videoEncoderArgs). A chunk that seeks passes
 * false: padding from 0 to its seek point would make a frame for every tick before it.
 */
export function sharedVideoFilters(
  source: CommandSource,
  frameRate: number,
  gpuDecode: boolean,
  fromStart = true,
): string[] {
  const filters: string[] = [];
  if (source.interlaced) filters.push(gpuDecode ? "yadif_cuda=mode=send_frame" : "yadif=mode=send_frame");
  filters.push(`fps=${frameRateArg(frameRate)}${fromStart ? ":start_time=0" : ""}`);
  return filters;
}

/** Per rung: scale to the upright display size with square pixels, 8-bit 4:2:0. */
export function scaleFilters(
  rung: Rung,
  gpuDecode: boolean,
  hwaccel: HwAccelMode,
  flags: "bicubic" | "fast_bilinear" = "bicubic",
): string[] {
  if (!gpuDecode) {
    const filters = [`scale=${rung.width}:${rung.height}:flags=${flags}`, "setsar=1", "format=yuv420p"];
    return filters;
  }
  const filters = [`scale_cuda=${rung.width}:${rung.height}:format=nv12`, "setsar=1"];
  if (hwaccel === "cuda-decode") filters.push("hwdownload", "format=nv12");
  return filters;
}

/** Decoded once: resampled to 48 kHz (filling gaps in the timestamps) and mixed down to stereo. */
export function audioFilters(): string[] {
  return [
    `aresample=${AUDIO_SAMPLE_RATE}:async=1`,
    `aformat=sample_fmts=fltp:channel_layouts=stereo:sample_rates=${AUDIO_SAMPLE_RATE}`,
  ];
}

export function videoEncoderArgs(input: {
  source: CommandSource;
  segmentSeconds: number;
  preset?: string;
  hwaccel?: HwAccelMode;
  ladder?: readonly Rung[];
  rung?: Rung;
  /** Film time of the first frame: a chunk's start (on the segment grid), 0 for a pass from the start. */
  keyframesFrom?: number;
}): string[] {
  const frameRate = (input.rung ?? input.ladder?.[0])?.frameRate ?? input.source.frameRate;
  const gop = String(Math.max(1, Math.round(frameRate * input.segmentSeconds)));
  // Keyframes at every segment boundary in every rung: players switch rungs between any two segments.
  // Counted in frames, exactly: frame k (film time k / rate, sharedVideoFilters) is a keyframe when it
  // is the first at or after a boundary, k·den ≥ m·segment·num. FFmpeg's `t` would not do: it counts
  // from the encoder's first frame, so a chunk's grid would restart at its start and drift a frame
  // off the film's wherever the segment is not a whole number of frames (29.97 fps: from 34 s on).
  const { num, den } = frameRateRatio(frameRate);
  const from = input.keyframesFrom ?? 0;
  const firstFrame = Math.ceil((from * num) / den);
  const firstSegment = Math.round(from / input.segmentSeconds);
  const frame = firstFrame ? `(n+${firstFrame})` : "n";
  const boundary = firstSegment ? `(n_forced+${firstSegment})` : "n_forced";
  const expression = `expr:gte(${frame}*${den},${boundary}*${input.segmentSeconds * num})`;
  const keyframes = ["-force_key_frames", expression, "-g", gop];
  // The fps filter made the frames (sharedVideoFilters): no muxer may duplicate or drop any.
  keyframes.push("-fps_mode", "passthrough");
  if (input.hwaccel === "nvenc") {
    return [
      ...["-c:v", "h264_nvenc", "-preset", "p4", "-profile:v", "high", "-rc", "vbr"],
      ...keyframes,
      ...["-forced-idr", "1", "-no-scenecut", "1"],
    ];
  }
  return [
    ...["-c:v", "libx264", "-profile:v", "high", "-preset", input.preset ?? DEFAULT_PRESET],
    ...keyframes,
    ...["-keyint_min", gop, "-sc_threshold", "0"],
  ];
}

export function hlsMuxerArgs(
  outputDir: string,
  segmentSeconds: number,
  streamMap: string,
  playlistType: "vod" | "event" = "vod",
): string[] {
  // EVENT: the playlist grows as segments complete; temp_file renames each segment into place whole.
  const flags = playlistType === "event" ? "independent_segments+temp_file" : "independent_segments";
  return [
    ...["-max_muxing_queue_size", "4096", "-map_metadata", "-1", "-map_chapters", "-1"],
    ...["-f", "hls", "-hls_time", String(segmentSeconds), "-hls_playlist_type", playlistType],
    ...["-hls_list_size", "0", "-hls_flags", flags, "-hls_segment_type", "mpegts"],
    ...["-hls_segment_filename", join(outputDir, "%v", SEGMENT_PATTERN)],
    ...["-var_stream_map", streamMap],
    ...["-progress", "pipe:1", "-nostats"],
    join(outputDir, "%v", MEDIA_PLAYLIST),
  ];
}

/** The exact ratio frameRateArg gives FFmpeg: 29.97 → 30000/1001, 12.5 → 12500/1000. */
export function frameRateRatio(frameRate: number): { num: number; den: number } {
  const [num, den] = frameRateArg(frameRate).split("/");
  if (den !== undefined) return { num: Number(num), den: Number(den) };
  const decimals = num!.split(".")[1]?.length ?? 0;
  return { num: Math.round(Number(num) * 10 ** decimals), den: 10 ** decimals };
}

/** 29.97 → "30000/1001": FFmpeg wants the exact NTSC ratios, not a rounded decimal. */
export function frameRateArg(frameRate: number): string {
  for (const base of [24, 30, 48, 60, 120]) {
    if (Math.abs(frameRate - (base * 1000) / 1001) < 0.005) return `${base * 1000}/1001`;
  }
  const whole = Math.round(frameRate);
  return Math.abs(frameRate - whole) < 0.001 ? String(whole) : frameRate.toFixed(3);
}
