// What the source really is, from ffprobe: its display size (rotation and non-square pixels applied),
// frame rate, bit depth, interlacing, bitrate and sound. Anything that is not a playable video is
// refused here with a sentence the uploader understands.
import { open } from "node:fs/promises";
import { readableSeconds } from "./decode-check.ts";
import { InputError } from "./errors.ts";
import { cancelled, runProcess } from "./ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "./log.ts";
import { allowedDemuxer, sourceInputArgs, UNSUPPORTED_CONTAINER } from "./source-input.ts";

export interface SourceFacts {
  /** The container's duration (what a player shows), seconds. */
  durationSeconds: number;
  /** Where the video stream itself ends, when the container says (sound may run longer). */
  videoDurationSeconds: number | null;
  /** Display size: rotation and the sample aspect ratio applied. */
  width: number;
  height: number;
  /** Size of the stored pictures, before rotation and aspect correction. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise degrees the pictures are turned for display. */
  rotation: 0 | 90 | 180 | 270;
  frameRate: number;
  /** Timestamps do not follow one constant rate (screen and phone recordings). */
  variableFrameRate: boolean;
  videoCodec: string;
  pixelFormat: string;
  bitDepth: number;
  interlaced: boolean;
  /** Bits per second of the video stream (or the whole file when the stream does not say). */
  videoBitrate: number | null;
  audio: null | { channels: number; sampleRate: number; codec: string };
  /** The demuxer every later FFmpeg is forced to (source-input.ts): never one that opens other files. */
  demuxer: string;
}

export const MAX_WIDTH = 7680;
export const MAX_HEIGHT = 4320;
const FALLBACK_FRAME_RATE = 30;
const PROBE_TIMEOUT_MS = 30_000;

/** The parts of `ffprobe -print_format json -show_format -show_streams` read here. */
export interface FfprobeReport {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: FfprobeStream[];
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  field_order?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  bit_rate?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string; DURATION?: string };
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface ProbeOptions {
  log?: TranscodeLog;
  signal?: AbortSignal;
}

/** Runs ffprobe on the source and reads it; throws InputError for anything that is not a video. */
export async function probeSource(sourcePath: string, options: ProbeOptions = {}): Promise<SourceFacts> {
  const log = options.log ?? silentLog;
  const result = await runProcess(
    [
      ...["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"],
      ...sourceInputArgs(sourcePath),
    ],
    { timeoutMs: PROBE_TIMEOUT_MS, signal: options.signal },
  );
  if (result.aborted) throw cancelled(options.signal);
  if (result.timedOut) throw new Error(`ffprobe did not answer within ${PROBE_TIMEOUT_MS / 1000} s`);
  let report: FfprobeReport | null = null;
  try {
    report = JSON.parse(result.stdout) as FfprobeReport;
  } catch {
    report = null;
  }
  if (result.exitCode !== 0 || !report?.streams?.length) {
    // Detected as a manifest or playlist (dash, hls, concat…): refused before it opened anything.
    if (/Format not on whitelist/.test(result.stderr)) throw new InputError(UNSUPPORTED_CONTAINER);
    log.info(
      { exit_code: result.exitCode, stderr: result.stderr.slice(-4000) },
      "ffprobe could not read the source",
    );
    throw new InputError(await unreadableReason(sourcePath));
  }
  let declared = declaredDuration(report);
  if (declared === null && videoStreamOf(report)) {
    // Live recordings (MediaRecorder WebM, raw streams) carry no duration: count what can be read.
    const demuxer = allowedDemuxer(report.format?.format_name);
    declared = await readableSeconds(sourcePath, { signal: options.signal, log, demuxer });
    log.info(
      { measured_seconds: declared },
      "the container has no duration: measured it by reading the file",
    );
  }
  return readSourceFacts(report, declared ?? 0);
}

/** Why ffprobe could not read the file, in the uploader's words. */
async function unreadableReason(sourcePath: string): Promise<string> {
  const file = await open(sourcePath, "r").catch(() => null);
  if (!file) return "The file could not be opened";
  try {
    const head = new Uint8Array(12);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead === 0) return "The file is empty";
    // An MP4/MOV that starts right but cannot be read lost its index (written last) to a cut-off upload.
    const box = new TextDecoder("latin1").decode(head.subarray(4, 8));
    if (bytesRead >= 8 && (box === "ftyp" || box === "mdat" || box === "wide")) {
      return "The file is truncated or incomplete (its index is missing)";
    }
    return "The file is not a video that can be read";
  } finally {
    await file.close();
  }
}

/** Demuxers of single pictures (png_pipe, jpeg_pipe, image2…); animated GIFs and APNGs are videos. */
const STILL_IMAGE_FORMATS = /^image2$|^(?!gif_)\w+_pipe$/;

/** The facts of a probed source; throws InputError when it is not a video this service can stream. */
export function readSourceFacts(report: FfprobeReport, durationSeconds: number): SourceFacts {
  const formatName = report.format?.format_name ?? "";
  const video = videoStreamOf(report);
  if (formatName === "tty") throw new InputError("The file is not a video that can be read");
  if (!video) throw new InputError("The file has no video stream");
  if (STILL_IMAGE_FORMATS.test(formatName)) throw new InputError("The file is a still image, not a video");
  const demuxer = allowedDemuxer(formatName);
  if (!demuxer) throw new InputError(UNSUPPORTED_CONTAINER);
  if (!video.codec_name || !video.width || !video.height) {
    throw new InputError("The file is not a video that can be read");
  }
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) {
    throw new InputError("The video's duration is zero or unknown");
  }

  const rotation = rotationOf(video);
  const aspect = ratio(video.sample_aspect_ratio, ":");
  const squareWidth = aspect && aspect > 0 ? Math.round(video.width * aspect) : video.width;
  const sideways = rotation === 90 || rotation === 270;
  const width = sideways ? video.height : squareWidth;
  const height = sideways ? squareWidth : video.height;
  if (Math.max(width, height) > MAX_WIDTH || Math.min(width, height) > MAX_HEIGHT) {
    throw new InputError(`The video is larger than 8K (${MAX_WIDTH}×${MAX_HEIGHT})`);
  }

  const { frameRate, variableFrameRate } = frameRateOf(video);
  const pixelFormat = video.pix_fmt ?? "unknown";
  const audioStream = report.streams?.find((stream) => stream.codec_type === "audio" && stream.codec_name);
  return {
    durationSeconds,
    videoDurationSeconds: positive(video.duration) ?? clockSeconds(video.tags?.DURATION),
    width,
    height,
    codedWidth: video.width,
    codedHeight: video.height,
    rotation,
    frameRate,
    variableFrameRate,
    videoCodec: video.codec_name,
    pixelFormat,
    bitDepth: bitDepthOf(pixelFormat, video.bits_per_raw_sample),
    interlaced: ["tt", "bb", "tb", "bt"].includes(video.field_order ?? ""),
    videoBitrate: positive(video.bit_rate) ?? videoShareOfFileBitrate(report, audioStream),
    audio: audioStream
      ? {
          channels: audioStream.channels ?? 2,
          sampleRate: positive(audioStream.sample_rate) ?? 48_000,
          codec: audioStream.codec_name ?? "unknown",
        }
      : null,
    demuxer,
  };
}

/** The first real video stream: cover art in a music file is a picture, not a video. */
function videoStreamOf(report: FfprobeReport): FfprobeStream | undefined {
  return report.streams?.find(
    (stream) => stream.codec_type === "video" && stream.disposition?.attached_pic !== 1,
  );
}

function declaredDuration(report: FfprobeReport): number | null {
  const video = videoStreamOf(report);
  return (
    positive(report.format?.duration) ??
    positive(video?.duration) ??
    clockSeconds(video?.tags?.DURATION) ??
    null
  );
}

function rotationOf(video: FfprobeStream): SourceFacts["rotation"] {
  const fromMatrix = video.side_data_list?.find((data) => typeof data.rotation === "number")?.rotation;
  const degrees = fromMatrix ?? Number(video.tags?.rotate ?? 0);
  const quarter = (((Math.round(degrees / 90) % 4) + 4) % 4) as 0 | 1 | 2 | 3;
  return ([0, 90, 180, 270] as const)[quarter];
}

/**
 * avg_frame_rate is what the timestamps really average; r_frame_rate is FFmpeg's guess of the base
 * rate. When they disagree the timestamps are irregular (VFR); when avg is missing, r is used if sane.
 */
function frameRateOf(video: FfprobeStream): { frameRate: number; variableFrameRate: boolean } {
  const average = ratio(video.avg_frame_rate, "/");
  const base = ratio(video.r_frame_rate, "/");
  const sane = (rate: number | null): rate is number => rate !== null && rate >= 1 && rate <= 240;
  if (sane(average)) {
    const variableFrameRate = sane(base) && Math.abs(base - average) / base > 0.02;
    return { frameRate: average, variableFrameRate };
  }
  if (sane(base)) return { frameRate: base, variableFrameRate: base > 120 };
  return { frameRate: FALLBACK_FRAME_RATE, variableFrameRate: true };
}

/** yuv420p10le, p010le, gray12le… name their depth; 8-bit formats (nv12, yuv420p) do not. */
function bitDepthOf(pixelFormat: string, rawBits: string | undefined): number {
  const named = Number(pixelFormat.match(/(\d{2})(?:le|be)$/)?.[1]);
  if (named >= 9 && named <= 16) return named;
  const raw = Number(rawBits);
  return Number.isInteger(raw) && raw >= 8 && raw <= 16 ? raw : 8;
}

function videoShareOfFileBitrate(report: FfprobeReport, audio: FfprobeStream | undefined): number | null {
  const total = positive(report.format?.bit_rate);
  if (total === null) return null;
  const audioBitrate = positive(audio?.bit_rate) ?? 0;
  return total - audioBitrate > 0 ? total - audioBitrate : total;
}

function positive(value: string | number | undefined): number | null {
  const number = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(number) && number > 0 ? number : null;
}

function ratio(value: string | undefined, separator: string): number | null {
  const [numerator, denominator] = (value ?? "").split(separator).map(Number);
  if (!numerator || !denominator || !Number.isFinite(numerator / denominator)) return null;
  return numerator / denominator;
}

/** Matroska's "00:01:12.500000000" duration tag. */
function clockSeconds(clock: string | undefined): number | null {
  const match = clock?.match(/^(\d+):(\d+):(\d+(?:\.\d+)?)$/);
  if (!match) return null;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds > 0 ? seconds : null;
}

/** 72.9 → "00:01:12", the way a person reads a position in a video. */
export function formatTimestamp(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const parts = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}
