// After the encode: read every rung's media playlist back, check it against the files on disk and the
// HLS rules, measure what it really costs (peak and average bitrate) and what it really is (CODECS from
// the bitstream), then write the master playlist from those facts and read it back.
import { stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { getOptions, parse, setOptions, stringify, types } from "hls-parser";
import type { Rendition } from "./contract.ts";
import { MEDIA_PLAYLIST } from "./ffmpeg-args.ts";
import { runProcess } from "./ffmpeg-process.ts";
import type { Rung } from "./ladder.ts";
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE } from "./ladder.ts";

export const MASTER_PLAYLIST = "master.m3u8";
const PROBE_TIMEOUT_MS = 30_000;

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

/** hls-parser in strict mode (it would only print what is wrong otherwise); its options are global. */
function parseStrictly(text: string, what: string): types.MasterPlaylist | types.MediaPlaylist {
  const previous = getOptions();
  setOptions({ ...previous, strictMode: true });
  try {
    return parse(text);
  } catch (error) {
    throw new Error(
      `${what} is not a valid playlist: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    setOptions({ ...previous, strictMode: previous.strictMode ?? false });
  }
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

interface SegmentStreams {
  width: number;
  height: number;
  videoCodecs: string;
  audio: { channels: number; sampleRate: number; codecs: string } | null;
}

interface SegmentProbe {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    profile?: string;
    level?: number;
    width?: number;
    height?: number;
    channels?: number;
    sample_rate?: string;
  }[];
  packets?: { codec_type?: string; data?: string }[];
}

/** What the first segment really holds, with the first video packet's bytes for the SPS. */
async function inspectSegment(path: string, signal?: AbortSignal): Promise<SegmentStreams> {
  const result = await runProcess(
    [
      ...["ffprobe", "-v", "error", "-print_format", "json", "-show_streams"],
      ...["-show_packets", "-show_data", "-read_intervals", "%+#8", path],
    ],
    { timeoutMs: PROBE_TIMEOUT_MS, signal },
  );
  if (result.exitCode !== 0)
    throw new Error(`ffprobe could not read ${basename(path)}: ${result.stderr.trim()}`);
  const report = JSON.parse(result.stdout) as SegmentProbe;
  const video = report.streams?.find((stream) => stream.codec_type === "video");
  const audio = report.streams?.find((stream) => stream.codec_type === "audio");
  if (!video?.width || !video.height) throw new Error(`${basename(path)} has no video`);
  const firstPicture = report.packets?.find((packet) => packet.codec_type === "video")?.data ?? "";
  return {
    width: video.width,
    height: video.height,
    videoCodecs: avcCodecs(video.profile ?? "", video.level ?? 0, hexDumpBytes(firstPicture)),
    audio: audio
      ? {
          channels: audio.channels ?? 0,
          sampleRate: Number(audio.sample_rate),
          codecs: aacCodecs(audio.codec_name ?? "", audio.profile ?? ""),
        }
      : null,
  };
}

const AVC_PROFILES: Record<string, [profile: number, constraints: number]> = {
  "Constrained Baseline": [66, 0xc0],
  Baseline: [66, 0x00],
  Main: [77, 0x40],
  Extended: [88, 0x00],
  High: [100, 0x00],
  "High 10": [110, 0x00],
  "High 4:2:2": [122, 0x00],
  "High 4:4:4 Predictive": [244, 0x00],
};

/**
 * `avc1.PPCCLL` (RFC 6381): profile_idc, constraint flags and level_idc, read from the sequence
 * parameter set when the bitstream carries one, else from ffprobe's profile name and level.
 */
export function avcCodecs(
  profile: string,
  level: number,
  firstPicture: Uint8Array = new Uint8Array(),
): string {
  const hex = (value: number) => value.toString(16).padStart(2, "0");
  for (let i = 0; i + 6 < firstPicture.length; i++) {
    const startCode = firstPicture[i] === 0 && firstPicture[i + 1] === 0 && firstPicture[i + 2] === 1;
    if (startCode && (firstPicture[i + 3]! & 0x1f) === 7) {
      return `avc1.${hex(firstPicture[i + 4]!)}${hex(firstPicture[i + 5]!)}${hex(firstPicture[i + 6]!)}`;
    }
  }
  const known = AVC_PROFILES[profile];
  if (!known || !(level > 0))
    throw new Error(`unexpected H.264 profile "${profile}" level ${level} in the output`);
  return `avc1.${hex(known[0])}${hex(known[1])}${hex(level)}`;
}

/** `mp4a.40.<audio object type>`: 2 for AAC-LC, 5 for HE-AAC, 29 for HE-AAC v2. */
export function aacCodecs(codec: string, profile: string): string {
  if (codec !== "aac") throw new Error(`unexpected audio codec "${codec}" in the output`);
  const objectType = { LC: 2, "HE-AAC": 5, "HE-AACv2": 29 }[profile];
  if (!objectType) throw new Error(`unexpected AAC profile "${profile}" in the output`);
  return `mp4a.40.${objectType}`;
}

/** ffprobe's `-show_data` hex dump ("00000000: 0000 0001 6764 ...  ascii") back to bytes. */
export function hexDumpBytes(dump: string): Uint8Array {
  const bytes: number[] = [];
  for (const line of dump.split("\n")) {
    const hexPart = line.match(/^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ?)+)/i)?.[1] ?? "";
    for (const pair of hexPart.replace(/\s+/g, "").match(/.{2}/g) ?? [])
      bytes.push(Number.parseInt(pair, 16));
  }
  return Uint8Array.from(bytes);
}

/** The master playlist text for these renditions (in ladder order). */
export function buildMasterPlaylist(renditions: readonly Rendition[]): string {
  const master = new types.MasterPlaylist({
    independentSegments: true,
    variants: renditions.map(
      (rendition) =>
        new types.Variant({
          uri: `${rendition.name}/${MEDIA_PLAYLIST}`,
          isIFrameOnly: false,
          bandwidth: rendition.bandwidth,
          averageBandwidth: rendition.averageBandwidth,
          codecs: rendition.codecs,
          resolution: { width: rendition.width, height: rendition.height },
          frameRate: rendition.frameRate,
        }),
    ),
  });
  // hls-parser leaves the last line unterminated; playlists are line-oriented text files.
  const text = `${stringify(master).trimEnd()}\n`;
  verifyMasterPlaylist(text, renditions);
  return text;
}

/** Parses the master back and checks it lists exactly these renditions. */
export function verifyMasterPlaylist(text: string, renditions: readonly Rendition[]): void {
  const parsed = parseStrictly(text, "the master playlist");
  if (!parsed.isMasterPlaylist) throw new Error("the master playlist does not parse as a master playlist");
  const master = parsed as types.MasterPlaylist;
  if (!master.independentSegments) throw new Error("the master playlist lacks EXT-X-INDEPENDENT-SEGMENTS");
  if (master.variants.length !== renditions.length) throw new Error("the master playlist lost a rendition");
  master.variants.forEach((variant, i) => {
    const rendition = renditions[i]!;
    const same =
      variant.uri === `${rendition.name}/${MEDIA_PLAYLIST}` &&
      variant.bandwidth === rendition.bandwidth &&
      variant.averageBandwidth === rendition.averageBandwidth &&
      variant.codecs === rendition.codecs &&
      variant.resolution?.width === rendition.width &&
      variant.resolution?.height === rendition.height &&
      Math.abs((variant.frameRate ?? 0) - rendition.frameRate) < 0.001;
    if (!same)
      throw new Error(`the master playlist's entry for ${rendition.name} does not read back as written`);
  });
}

/** Writes `master.m3u8` into the output folder; returns its path relative to it. */
export async function writeMasterPlaylist(
  outputDir: string,
  renditions: readonly Rendition[],
): Promise<string> {
  await writeFile(join(outputDir, MASTER_PLAYLIST), buildMasterPlaylist(renditions));
  return MASTER_PLAYLIST;
}
