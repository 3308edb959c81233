// After the encode: read every rung's media playlist back, check it against the files on disk and the
// HLS rules, measure what it really costs (peak and average bitrate) and what it really is (CODECS from
// the bitstream): the facts the master playlist is then written from.
import { stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { types } from "hls-parser";
import type { Rendition } from "../../contract/media.ts";
import { MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import type { Rung } from "../ladder.ts";
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE } from "../ladder.ts";
import { inspectSegment } from "./codecs.ts";
import { parseStrictly } from "./strict-parse.ts";

export interface SegmentFacts {
  uri: string;
  durationSeconds: number;
  bytes: number;
}

export interface VerifyOptions {
  /** Whether the renditions must carry sound. */
  audio: boolean;
  /** The source's duration: a rendition much shorter than it lost frames. */
  durationSeconds: number;
  signal?: AbortSignal;
}

/** Checks one rung's playlist and segments and returns the rendition as the master will list it. */
export async function verifyRendition(
  outputDir: string,
  rung: Rung,
  options: VerifyOptions,
): Promise<Rendition> {
  const folder = join(outputDir, rung.name);
  const where = `rendition ${rung.name}`;
  const playlistPath = join(folder, MEDIA_PLAYLIST);
  const written = await Bun.file(playlistPath)
    .text()
    .catch(() => {
      throw new Error(`${where}: ${MEDIA_PLAYLIST} was not written`);
    });
  const playlistText = repairTargetDuration(written);
  if (playlistText !== written) await writeFile(playlistPath, playlistText);
  const playlist = parseStrictly(playlistText, `${where}: ${MEDIA_PLAYLIST}`);
  if (playlist.isMasterPlaylist) throw new Error(`${where}: ${MEDIA_PLAYLIST} is not a media playlist`);
  const media = playlist as types.MediaPlaylist;
  if (!media.endlist || media.playlistType !== "VOD")
    throw new Error(`${where}: the playlist is not a finished VOD`);
  if (media.segments.length === 0) throw new Error(`${where}: the playlist has no segments`);

  const segments: SegmentFacts[] = [];
  for (const segment of media.segments) {
    if (segment.uri !== basename(segment.uri))
      throw new Error(`${where}: segment ${segment.uri} is outside its folder`);
    const bytes = await stat(join(folder, segment.uri)).then(
      (file) => file.size,
      () => 0,
    );
    if (bytes === 0) throw new Error(`${where}: segment ${segment.uri} is missing or empty`);
    // RFC 8216 §4.3.3.1: every EXTINF, rounded to the nearest integer, is at most the target duration.
    if (Math.round(segment.duration) > media.targetDuration) {
      throw new Error(
        `${where}: segment ${segment.uri} lasts ${segment.duration}s, over the target duration ${media.targetDuration}s`,
      );
    }
    segments.push({ uri: segment.uri, durationSeconds: segment.duration, bytes });
  }
  const total = segments.reduce((sum, segment) => sum + segment.durationSeconds, 0);
  if (Math.abs(total - options.durationSeconds) > Math.max(1, options.durationSeconds * 0.02)) {
    throw new Error(
      `${where}: lasts ${total.toFixed(2)}s but the source lasts ${options.durationSeconds.toFixed(2)}s`,
    );
  }

  const firstSegment = join(folder, segments[0]!.uri);
  const stream = await inspectSegment(firstSegment, options.signal);
  if (stream.width !== rung.width || stream.height !== rung.height) {
    throw new Error(
      `${where}: encoded ${stream.width}x${stream.height} instead of ${rung.width}x${rung.height}`,
    );
  }
  if (options.audio !== (stream.audio !== null)) {
    throw new Error(`${where}: sound ${options.audio ? "is missing" : "was not expected"}`);
  }
  if (
    stream.audio &&
    (stream.audio.channels !== AUDIO_CHANNELS || stream.audio.sampleRate !== AUDIO_SAMPLE_RATE)
  ) {
    throw new Error(`${where}: sound is ${stream.audio.channels} channels at ${stream.audio.sampleRate} Hz`);
  }
  const { peak, average } = segmentBitrates(segments);
  return {
    name: rung.name,
    width: rung.width,
    height: rung.height,
    bandwidth: peak,
    averageBandwidth: average,
    codecs: [stream.videoCodecs, stream.audio?.codecs].filter(Boolean).join(","),
    frameRate: Math.round(rung.frameRate * 1000) / 1000,
  };
}

/**
 * FFmpeg rounds the target duration of a video shorter than half a second (a single frame) down to 0,
 * which is not a valid target duration: the smallest valid one is 1.
 */
export function repairTargetDuration(playlist: string): string {
  return playlist.replace(/^#EXT-X-TARGETDURATION:0$/m, "#EXT-X-TARGETDURATION:1");
}

/**
 * Peak (HLS BANDWIDTH) and average bits/s over the segments. A short final segment is left out of the
 * peak when there are others: its keyframe and stream headers over a fraction of a second would
 * inflate BANDWIDTH, and players pick renditions by it.
 */
export function segmentBitrates(segments: readonly SegmentFacts[]): { peak: number; average: number } {
  const bitrate = (segment: SegmentFacts) => (segment.bytes * 8) / Math.max(segment.durationSeconds, 0.001);
  const longest = Math.max(...segments.map((segment) => segment.durationSeconds));
  const last = segments.at(-1);
  const counted =
    segments.length > 1 && last && last.durationSeconds < longest / 2 ? segments.slice(0, -1) : segments;
  const totalBytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  const totalSeconds = segments.reduce((sum, segment) => sum + segment.durationSeconds, 0);
  const average = Math.ceil((totalBytes * 8) / Math.max(totalSeconds, 0.001));
  return { peak: Math.max(average, Math.ceil(Math.max(...counted.map(bitrate)))), average };
}
