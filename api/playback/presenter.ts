// Playback answers: headers for playlists and files (types, validators, ranges, who may cache them).
import type { BunFile } from "bun";
import { ApiError } from "../http/errors.ts";
import { contentTypeOf, ifRangeHolds, matchesEtag, parseRange } from "./http.ts";
import type { PlaybackAccess } from "./model.ts";

const YEAR = 31_536_000;
const PLAYLIST_MAX_AGE = 10;
/** A fast-start playlist grows while its pass runs, and its master gives way to the full ladder's. */
const LIVE_PLAYLIST_MAX_AGE = 1;
const UNVERSIONED_MAX_AGE = 300;

/** What is known of a stored file: kept for a while, since published trees never change. */
export interface FileMeta {
  file: BunFile;
  size: number;
  etag: string;
  expiresAtMs: number;
}

/** A playlist whose every URI already carries the revision and a token. */
export function playlistResponse(
  request: Request,
  key: string,
  body: string,
  access: PlaybackAccess,
  options: { live: boolean } = { live: false },
): Response {
  const etag = `"${Bun.hash(body).toString(36)}"`;
  const maxAge = options.live ? LIVE_PLAYLIST_MAX_AGE : PLAYLIST_MAX_AGE;
  const headers: Record<string, string> = {
    "content-type": contentTypeOf(key),
    etag,
    // The body carries a token: never for a shared cache when the cookie let the request in.
    "cache-control": `${access.via === "cookie" ? "private" : "public"}, max-age=${maxAge}`,
  };
  if (matchesEtag(request.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(body, { headers });
}

function cacheControl(access: PlaybackAccess, versioned: boolean, nowMs: number): string {
  const maxAge = versioned ? YEAR : UNVERSIONED_MAX_AGE;
  const immutable = versioned ? ", immutable" : "";
  switch (access.via) {
    case "cookie":
      return `private, max-age=${maxAge}${immutable}`;
    case "public":
      return `public, max-age=${maxAge}${immutable}`;
    case "token": {
      // A shared cache must not answer for a URL whose token has expired.
      const left = Math.max(0, Math.min(maxAge, access.expiresAtSeconds - Math.floor(nowMs / 1000)));
      return `public, max-age=${maxAge}, s-maxage=${left}${immutable}`;
    }
  }
}

/** A segment, MP4, image or VTT file: whole, a byte range (206/416) or 304, sent with sendfile. */
export function fileResponse(
  request: Request,
  meta: FileMeta,
  key: string,
  access: PlaybackAccess,
  options: { versioned: boolean; nowMs: number; downloadAs?: string },
): Response {
  const headers: Record<string, string> = {
    "content-type": contentTypeOf(key),
    "accept-ranges": "bytes",
    etag: meta.etag,
    "cache-control": cacheControl(access, options.versioned, options.nowMs),
  };
  // The name is ours (`video-<id>-<rung>.mp4`): nothing to quote or encode.
  if (options.downloadAs) headers["content-disposition"] = `attachment; filename="${options.downloadAs}"`;
  if (matchesEtag(request.headers.get("if-none-match"), meta.etag)) {
    return new Response(null, { status: 304, headers });
  }
  const range = ifRangeHolds(request.headers.get("if-range"), meta.etag)
    ? parseRange(request.headers.get("range"), meta.size)
    : null;
  if (range === "unsatisfiable") {
    throw new ApiError(
      416,
      { detail: `The requested range is not satisfiable: the file has ${meta.size} bytes.` },
      { "content-range": `bytes */${meta.size}` },
    );
  }
  if (range) {
    headers["content-range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
    // A slice of a BunFile still goes out with sendfile(2).
    return new Response(meta.file.slice(range.start, range.end + 1), { status: 206, headers });
  }
  return new Response(meta.file, { headers });
}
