// After the ladder is verified: each rung's segments copied, never encoded again, into one progressive
// MP4 for players that cannot play HLS (a plain <video src>). `+faststart` puts the index (`moov`) before
// the media (`mdat`), so playback and seeking start before the whole file has arrived. Each file is
// checked before it is listed: index first, and as long as the rung's playlist says. The MP4 is optional
// (the HLS is verified and plays without it; `bun run media:backfill-mp4` adds it later): a rung whose
// remux or check fails is listed without one, unless the job was cancelled or the disk is full.
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { types } from "hls-parser";
import type { ProgressiveMp4, Rendition } from "../../contract/media.ts";
import { StorageFullError, saysNoSpace } from "../../storage/no-space.ts";
import { MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import { cancelled, lastMeaningfulLine, runProcess } from "../ffmpeg-process.ts";
import { silentLog, type TranscodeLog } from "../log.ts";
import { ProgressParser } from "../progress.ts";
import { parseStrictly } from "./strict-parse.ts";

/** The MP4's name inside its rung's folder, beside the playlist and segments. */
export const PROGRESSIVE_MP4 = "progressive.mp4";

const PROBE_TIMEOUT_MS = 30_000;
/** A segment as our HLS muxer names it: a plain file of the rung's folder (no scheme, no path). */
const SEGMENT_NAME = /^[A-Za-z0-9_-]+\.ts$/;

export interface RemuxCommandInput {
  /** The rung's folder: its verified media playlist and segments. */
  folder: string;
  outputPath: string;
  /** Whether the rung carries sound (its ADTS frames need rewrapping for MP4). */
  audio: boolean;
}

/**
 * A stream copy of one rung. The input is our own playlist, and still read hardened like an upload: only
 * local files, the HLS demuxer forced, and only `.ts` segments, so nothing outside the folder is opened.
 */
export function buildRemuxCommand(input: RemuxCommandInput): string[] {
  const argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"];
  argv.push("-protocol_whitelist", "file", "-allowed_extensions", "ts", "-f", "hls");
  argv.push("-i", join(input.folder, MEDIA_PLAYLIST), "-map", "0:v:0");
  if (input.audio) argv.push("-map", "0:a:0");
  argv.push("-c", "copy");
  // MPEG-TS carries AAC in ADTS frames; MP4 wants the raw frames and one AudioSpecificConfig.
  if (input.audio) argv.push("-bsf:a", "aac_adtstoasc");
  argv.push("-map_metadata", "-1", "-movflags", "+faststart", "-progress", "pipe:1", "-nostats");
  argv.push("-f", "mp4", input.outputPath);
  return argv;
}

/** What a finished MP4 is, as read back from the file. */
export interface Mp4Facts {
  size: number;
  /** The file's top-level boxes in order (`ftyp`, `moov`, `mdat`…). */
  boxes: string[];
  /**
   * The video track's duration: what EXTINF measures too. The file's own runs a few ms longer where the
   * sound does (AAC pads its last frame), by less than an AAC frame.
   */
  durationSeconds: number;
  hasAudio: boolean;
}

export interface RemuxOptions {
  audio: boolean;
  /** The rung's frame rate: the duration must match the playlist's within one frame. */
  frameRate: number;
  signal?: AbortSignal;
  /** 0–1 of this rung, as FFmpeg writes. */
  onProgress?: (fraction: number) => void;
}

/**
 * Remuxes the rung in `folder` into `outputPath` and checks the result; returns its size. Our own
 * outputs failing here is this host's fault (an Error, retried), not the upload's.
 */
export async function remuxRung(
  folder: string,
  outputPath: string,
  options: RemuxOptions,
): Promise<{ size: number }> {
  const playlistSeconds = await playlistDuration(folder);
  const parser = new ProgressParser((progress) =>
    options.onProgress?.(
      progress.done ? 1 : Math.min(1, progress.outTimeSeconds / Math.max(playlistSeconds, 0.001)),
    ),
  );
  const result = await runProcess(buildRemuxCommand({ folder, outputPath, audio: options.audio }), {
    signal: options.signal,
    // A copy reads and writes at disk speed: far longer than real time means it is stuck.
    timeoutMs: 60_000 + playlistSeconds * 1000,
    onStdout: (chunk) => parser.push(chunk),
  });
  if (result.aborted) throw cancelled(options.signal);
  if (saysNoSpace(result.stderr)) throw new StorageFullError();
  const where = `MP4 of ${folder.slice(folder.lastIndexOf("/") + 1)}`;
  if (result.timedOut) throw new Error(`${where}: the remux did not finish in time`);
  if (result.exitCode !== 0) {
    throw new Error(
      `${where}: FFmpeg exited with code ${result.exitCode}: ${lastMeaningfulLine(result.stderr)}`,
    );
  }
  const facts = await readMp4(outputPath, options.signal);
  const problem = mp4Problem(facts, { playlistSeconds, frameRate: options.frameRate, audio: options.audio });
  if (problem) throw new Error(`${where}: ${problem}`);
  return { size: facts.size };
}

/** Why a remuxed file may not be listed, or null when it is fine. */
export function mp4Problem(
  facts: Mp4Facts,
  expected: { playlistSeconds: number; frameRate: number; audio: boolean },
): string | null {
  const moov = facts.boxes.indexOf("moov");
  const mdat = facts.boxes.indexOf("mdat");
  if (facts.boxes[0] !== "ftyp") return "the file does not start with an ftyp box";
  if (moov === -1 || mdat === -1) return `boxes ${facts.boxes.join(", ")}: no moov or no mdat`;
  if (moov > mdat) return "the index (moov) comes after the media (mdat): not fast-start";
  if (facts.hasAudio !== expected.audio) return `sound ${expected.audio ? "is missing" : "was not expected"}`;
  if (!Number.isFinite(facts.durationSeconds)) return "ffprobe finds no video track with a duration";
  // One frame, plus the microsecond rounding of EXTINF and of ffprobe's durations.
  const tolerance = 1 / Math.max(expected.frameRate, 1) + 0.002;
  if (Math.abs(facts.durationSeconds - expected.playlistSeconds) > tolerance) {
    return `lasts ${facts.durationSeconds.toFixed(3)}s but the playlist ${expected.playlistSeconds.toFixed(3)}s`;
  }
  return null;
}

/** The sum of the rung's EXTINF durations; its segments must be files of its own folder. */
export async function playlistDuration(folder: string): Promise<number> {
  const path = join(folder, MEDIA_PLAYLIST);
  const text = await Bun.file(path)
    .text()
    .catch(() => {
      throw new Error(`${path} is missing`);
    });
  const playlist = parseStrictly(text, path);
  if (playlist.isMasterPlaylist) throw new Error(`${path} is not a media playlist`);
  const { segments } = playlist as types.MediaPlaylist;
  if (segments.length === 0) throw new Error(`${path} has no segments`);
  for (const segment of segments) {
    if (!SEGMENT_NAME.test(segment.uri))
      throw new Error(`${path}: segment ${segment.uri} is not a .ts file of its folder`);
  }
  return segments.reduce((sum, segment) => sum + segment.duration, 0);
}

/** Reads an MP4 back: its top-level boxes from their headers, its duration and streams from ffprobe. */
export async function readMp4(path: string, signal?: AbortSignal): Promise<Mp4Facts> {
  const size = (await stat(path)).size;
  const result = await runProcess(
    [
      ...["ffprobe", "-v", "error", "-print_format", "json", "-show_entries"],
      ...["stream=codec_type,duration", "-protocol_whitelist", "file", "-f", "mov", path],
    ],
    { timeoutMs: PROBE_TIMEOUT_MS, signal },
  );
  if (result.exitCode !== 0) throw new Error(`ffprobe could not read the MP4: ${result.stderr.trim()}`);
  const streams = (JSON.parse(result.stdout) as { streams?: { codec_type?: string; duration?: string }[] })
    .streams;
  const video = streams?.find((stream) => stream.codec_type === "video");
  return {
    size,
    boxes: await topLevelBoxes(path),
    durationSeconds: Number(video?.duration ?? Number.NaN),
    hasAudio: (streams ?? []).some((stream) => stream.codec_type === "audio"),
  };
}

/** The types of an ISO-BMFF file's top-level boxes, read from their 8- or 16-byte headers only. */
export async function topLevelBoxes(path: string, limit = 16): Promise<string[]> {
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    const header = Buffer.alloc(16);
    const boxes: string[] = [];
    let offset = 0;
    while (offset + 8 <= size && boxes.length < limit) {
      await file.read(header, 0, 16, offset);
      const type = header.toString("latin1", 4, 8);
      let length = header.readUInt32BE(0);
      if (length === 1) length = Number(header.readBigUInt64BE(8));
      else if (length === 0) length = size - offset;
      boxes.push(type);
      if (length < 8) break;
      offset += length;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

export interface ProgressiveMp4Options {
  audio: boolean;
  signal?: AbortSignal;
  /** 0–100 over every rung. */
  onProgress?: (percent: number) => void;
  /** Where a rung published without its MP4 is told (at warn, with the reason). */
  log?: TranscodeLog;
  /** A rung's remux or check failed and it goes without an MP4 (the worker counts these). */
  onRemuxFailed?: (rendition: string, reason: string) => void;
}

/** The pipeline's step: every verified rendition of `outputDir` gets its MP4, listed in the result. */
export async function addProgressiveMp4s(
  outputDir: string,
  renditions: readonly Rendition[],
  options: ProgressiveMp4Options,
): Promise<Rendition[]> {
  const withMp4: Rendition[] = [];
  for (const [index, rendition] of renditions.entries()) {
    const path = `${rendition.name}/${PROGRESSIVE_MP4}`;
    try {
      const { size } = await remuxRung(join(outputDir, rendition.name), join(outputDir, path), {
        audio: options.audio,
        frameRate: rendition.frameRate,
        signal: options.signal,
        onProgress: (fraction) => options.onProgress?.(((index + fraction) / renditions.length) * 100),
      });
      const mp4: ProgressiveMp4 = { path, size };
      withMp4.push({ ...rendition, mp4 });
    } catch (error) {
      // A cancel stops the job; a full disk is the worker's to hold or fail, as for the encode.
      if (options.signal?.aborted || error instanceof StorageFullError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      // What is left of it must not be published: the tree is uploaded whole (our own staging path).
      await rm(join(outputDir, path), { force: true, recursive: true });
      (options.log ?? silentLog).warn(
        { rendition: rendition.name, reason },
        "progressive MP4 remux failed: the rung is published without its MP4",
      );
      options.onRemuxFailed?.(rendition.name, reason);
      withMp4.push(rendition);
    }
  }
  return withMp4;
}
