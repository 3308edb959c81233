// Which demuxers may read an upload, and the input options of every FFmpeg and ffprobe that reads one.
// Playlist and manifest demuxers (dash, hls, concat, image2 sequences…) open the files or URLs named
// inside the upload: a DASH manifest's `<BaseURL>file:///…</BaseURL>` would publish a file of this host.

/** Containers and raw streams that read only their own bytes; the first name is what `-f` takes. */
export const VIDEO_DEMUXERS = [
  "mov",
  "matroska",
  "avi",
  "mpegts",
  "flv",
  "ogg",
  "asf",
  "mpeg",
  // Raw elementary streams (a camera's .h264, MPEG-1/2 video): no container, no references either.
  "h264",
  "hevc",
  "mpegvideo",
] as const;

/** Single pictures: probed only so that a photo is refused as a photo, never transcoded. */
const STILL_IMAGE_DEMUXERS = ["png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe"];

export const PROBE_DEMUXERS = [...VIDEO_DEMUXERS, ...STILL_IMAGE_DEMUXERS];

export const UNSUPPORTED_CONTAINER =
  "The file is not a supported video container (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, Ogg, WMV or MPEG)";

/** ffprobe's `format_name` ("mov,mp4,m4a,3gp,3g2,mj2") → the allowed demuxer to force, or null. */
export function allowedDemuxer(formatName: string | undefined): string | null {
  const names = (formatName ?? "").split(",");
  return VIDEO_DEMUXERS.find((demuxer) => names.includes(demuxer)) ?? null;
}

/**
 * The options before (and including) `-i source`: only the local file protocol (no http, tcp, data…),
 * and the demuxer the probe found forced, or, before the probe, a whitelist of the safe ones.
 */
export function sourceInputArgs(sourcePath: string, demuxer?: string | null): string[] {
  const format = demuxer ? ["-f", demuxer] : ["-format_whitelist", PROBE_DEMUXERS.join(",")];
  return ["-protocol_whitelist", "file", ...format, "-i", sourcePath];
}
