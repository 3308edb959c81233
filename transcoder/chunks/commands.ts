// The FFmpeg command lines of a chunked ladder: one per chunk (video only, every rung, the film's own
// timestamps), one for the sound of the whole film, and the stitch that muxes them into the HLS tree the
// one-FFmpeg ladder would have written. The intermediates are MPEG-TS: its timestamps survive a plain
// concatenation of the files, so the stitch reads all the chunks as one continuous stream.

import {
  audioFilters,
  type CommandSource,
  commonInput,
  hlsMuxerArgs,
  scaleFilters,
  sharedVideoFilters,
  usesGpuDecode,
  videoEncoderArgs,
} from "../ffmpeg-args.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE, type Rung } from "../ladder.ts";
import type { Chunk } from "./plan.ts";

/**
 * Decoding starts this long before a chunk: the frame-rate filter and the deinterlacer then see the
 * frames before the cut, as they do in one pass over the film, and the chunk's first frame is the same.
 */
export const CHUNK_PREROLL_SECONDS = 1;
/**
 * The MPEG-TS muxer writes every timestamp 2 × muxdelay late (measured with FFmpeg 5.1). The chunks
 * and the sound are written with the same delay, so they stay aligned, and the stitch takes it off again
 * (tests/transcoder/chunks.test.ts compares the segments' start times with the one-pass ladder's).
 */
const INTERMEDIATE_MUX_DELAY = 0.7;
export const INTERMEDIATE_OFFSET = 2 * INTERMEDIATE_MUX_DELAY;

/**
 * What an intermediate's muxer must keep as is: B-frames and AAC priming give the film's start negative
 * timestamps, and shifting them in one chunk but not the others would break the stitched timeline.
 */
const INTERMEDIATE_MUXER = [
  ...["-max_muxing_queue_size", "4096", "-map_metadata", "-1", "-map_chapters", "-1"],
  ...["-avoid_negative_ts", "disabled", "-muxdelay", String(INTERMEDIATE_MUX_DELAY), "-f", "mpegts"],
  ...["-progress", "pipe:1", "-nostats"],
];

export interface ChunkCommandInput {
  sourcePath: string;
  /** The chunk's MPEG-TS: one video stream per rung, in ladder order. */
  outputPath: string;
  source: CommandSource;
  ladder: readonly Rung[];
  segmentSeconds: number;
  chunk: Chunk;
  preset?: string;
  hwaccel?: HwAccelMode;
}

/**
 * One chunk of every rung: seek shortly before it, put the film's timestamps back (`-itsoffset`, see
 * commonInput), run the ladder's filters, keep exactly the frames of [start, end) and force the
 * keyframes on the film's segment grid, as the one-pass ladder does.
 *
 * `settb=AVTB` before the trim: trim rounds its bounds to the link's tick, which after fps= is one frame;
 * at NTSC rates 18 s rounded to frame 539 (17.984 s), one frame before the boundary, and that frame
 * became the chunk's IDR while the forced keyframe a frame later was only an I (keyint_min = GOP): a
 * 3.97 s segment and a 0.03 s one. In microseconds the trim keeps exactly the frames k with
 * k / rate ≥ start (a frame off the boundary is at least 1/30000 s from it), the first frame the
 * keyframe count of videoEncoderArgs starts from.
 */
export function buildChunkCommand(input: ChunkCommandInput): string[] {
  const { source, ladder, chunk } = input;
  if (ladder.length === 0) throw new Error("the ladder has no rungs");
  const gpuDecode = usesGpuDecode(input);
  const hwaccel = input.hwaccel ?? "none";
  const seek = Math.max(0, chunk.startSeconds - CHUNK_PREROLL_SECONDS);
  const head = sharedVideoFilters(source, ladder[0]!.frameRate, gpuDecode, seek === 0);
  const cut = [chunk.startSeconds > 0 ? `start=${chunk.startSeconds}` : null];
  cut.push(chunk.endSeconds === null ? null : `end=${chunk.endSeconds}`);
  head.push("settb=AVTB", `trim=${cut.filter(Boolean).join(":")}`);
  const count = ladder.length;
  if (count > 1) head.push(`split=${count}${ladder.map((_, i) => `[s${i}]`).join("")}`);
  const graph = [`[0:v:0]${head.join(",")}${count > 1 ? "" : "[s0]"}`];
  ladder.forEach((rung, i) => {
    graph.push(`[s${i}]${scaleFilters(rung, gpuDecode, hwaccel).join(",")}[v${i}]`);
  });

  const argv = [...commonInput(input, gpuDecode, seek), "-filter_complex", graph.join(";")];
  ladder.forEach((_, i) => {
    argv.push("-map", `[v${i}]`);
  });
  argv.push(...videoEncoderArgs({ ...input, keyframesFrom: chunk.startSeconds }));
  ladder.forEach((rung, i) => {
    argv.push(`-b:v:${i}`, String(rung.videoBitrate), `-maxrate:v:${i}`, String(rung.maxrate));
    argv.push(`-bufsize:v:${i}`, String(rung.bufsize));
  });
  argv.push(...INTERMEDIATE_MUXER, input.outputPath);
  return argv;
}

/** The distinct audio bitrates of a ladder (one AAC track each) and which track each rung carries. */
export function audioTracks(ladder: readonly Rung[]): { bitrates: number[]; trackOfRung: number[] } {
  const bitrates = [...new Set(ladder.map((rung) => rung.audioBitrate))];
  return { bitrates, trackOfRung: ladder.map((rung) => bitrates.indexOf(rung.audioBitrate)) };
}

export interface AudioCommandInput {
  sourcePath: string;
  /** The film's sound as MPEG-TS: one AAC track per distinct bitrate of the ladder. */
  outputPath: string;
  source: CommandSource;
  ladder: readonly Rung[];
}

/** The sound of the whole film in one pass: AAC per chunk would prime (and click) at every cut. */
export function buildAudioCommand(input: AudioCommandInput): string[] {
  if (!input.source.audio) throw new Error("the source has no sound");
  const { bitrates } = audioTracks(input.ladder);
  const fanOut =
    bitrates.length > 1 ? `,asplit=${bitrates.length}${bitrates.map((_, i) => `[a${i}]`).join("")}` : "[a0]";
  const argv = [
    ...commonInput(input, false),
    "-filter_complex",
    `[0:a:0]${audioFilters().join(",")}${fanOut}`,
  ];
  bitrates.forEach((_, i) => {
    argv.push("-map", `[a${i}]`);
  });
  argv.push("-c:a", "aac", "-ac", String(AUDIO_CHANNELS), "-ar", String(AUDIO_SAMPLE_RATE));
  bitrates.forEach((bitrate, i) => {
    argv.push(`-b:a:${i}`, String(bitrate));
  });
  argv.push(...INTERMEDIATE_MUXER, input.outputPath);
  return argv;
}

export interface StitchCommandInput {
  /** Every chunk's MPEG-TS, in film order. */
  chunkPaths: readonly string[];
  /** The film's sound (buildAudioCommand), or null for a silent film. */
  audioPath: string | null;
  outputDir: string;
  ladder: readonly Rung[];
  segmentSeconds: number;
}

/**
 * The HLS tree from the chunks and the sound, streams copied: the chunks are read as one stream (the
 * concat protocol), the timestamps kept as written (`-copyts`: both inputs rebased alike), and the HLS
 * muxer, with the ladder's very options, cuts at the forced keyframes into the same segments.
 *
 * Two things must stay as they are: files joined byte by byte break MPEG-TS's continuity counters, so
 * the demuxer flags the packet at every join "corrupt" (a whole, good frame). `-fflags +discardcorrupt`
 * would drop each chunk's last frame, and a log level above `error` would put "Packet corrupt" in
 * stderr at every join.
 */
export function buildStitchCommand(input: StitchCommandInput): string[] {
  const { ladder, chunkPaths, audioPath } = input;
  if (chunkPaths.length === 0) throw new Error("there are no chunks to stitch");
  if (chunkPaths.some((path) => path.includes("|"))) throw new Error("a chunk path may not contain |");
  const argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-copyts"];
  argv.push("-protocol_whitelist", "file,concat", "-f", "mpegts", "-i", `concat:${chunkPaths.join("|")}`);
  if (audioPath) argv.push("-protocol_whitelist", "file", "-f", "mpegts", "-i", audioPath);
  const { trackOfRung } = audioTracks(ladder);
  ladder.forEach((_, i) => {
    argv.push("-map", `0:v:${i}`);
    if (audioPath) argv.push("-map", `1:a:${trackOfRung[i]}`);
  });
  argv.push("-c", "copy", "-output_ts_offset", String(-INTERMEDIATE_OFFSET));
  const streamMap = ladder
    .map((rung, i) => `v:${i},${audioPath ? `a:${i},` : ""}name:${rung.name}`)
    .join(" ");
  argv.push(...hlsMuxerArgs(input.outputDir, input.segmentSeconds, streamMap));
  return argv;
}
