// What a rendition really is, read from its first segment: size, sound, and the RFC 6381 CODECS string
// from the bitstream's own sequence parameter set (players pick renditions by it).
import { basename } from "node:path";
import { runProcess } from "../ffmpeg-process.ts";

const PROBE_TIMEOUT_MS = 30_000;

export interface SegmentStreams {
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
export async function inspectSegment(path: string, signal?: AbortSignal): Promise<SegmentStreams> {
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
