// The shapes playback accepts: strict names checked before credentials or storage are looked at, so
// nothing outside a video's published tree can ever be named.
import { notFound } from "../http/errors.ts";

const VIDEO_ID = /^[1-9]\d{0,9}$/;
const RUNG = /^\d{3,4}p$/;
const FILE = /^[A-Za-z0-9_-]+\.(ts|m4s|mp4|m3u8|jpg|webp|vtt)$/;
const RUNG_FILES = new Set(["ts", "m4s", "mp4", "m3u8"]);
const THUMBNAIL_FILES = new Set(["jpg", "webp", "vtt"]);

/** A file a player asked for. */
export interface PlaybackTarget {
  videoId: number;
  /** null for master.m3u8, `thumbnails`, or the rung the client named. */
  dir: string | null;
  file: string;
  /** `?v=`: the revision our playlists write into every URI (absent: an unversioned URL). */
  version: string | undefined;
  /** `?download=1` on a progressive MP4: sent as an attachment (Content-Disposition). */
  download?: boolean;
}

/** How a request was let in: a session cookie, a signed token (valid until `expiresAtSeconds`), or as public art. */
export type PlaybackAccess =
  | { via: "cookie" }
  | { via: "token"; token: string; expiresAtSeconds: number }
  | { via: "public" };

/** Parses a playback path; anything but the strict shapes is a 404. */
export function playbackTarget(
  id: string,
  dir: string | null,
  file: string,
  version: string | undefined,
): PlaybackTarget {
  if (!VIDEO_ID.test(id) || Number(id) > 2 ** 31 - 1) throw notFound();
  const name = FILE.exec(file);
  if (!name) throw notFound();
  const extension = name[1]!;
  if (dir === null) {
    if (file !== "master.m3u8") throw notFound();
  } else if (dir === "thumbnails") {
    if (!THUMBNAIL_FILES.has(extension)) throw notFound();
  } else if (!RUNG.test(dir) || !RUNG_FILES.has(extension)) {
    throw notFound();
  }
  return { videoId: Number(id), dir, file, version };
}

export const isThumbnail = (target: PlaybackTarget) => target.dir === "thumbnails";
/** Only an MP4 is offered as a download; `download` on anything else is ignored. */
export const isDownload = (target: PlaybackTarget) =>
  target.download === true && target.file.endsWith(".mp4");
export const isPlaylist = (target: PlaybackTarget) => target.file.endsWith(".m3u8") && !isThumbnail(target);
