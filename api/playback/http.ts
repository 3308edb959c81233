// Small HTTP pieces of media delivery: content types, byte ranges, entity tags, playlist rewriting.

const CONTENT_TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  jpg: "image/jpeg",
  webp: "image/webp",
  vtt: "text/vtt; charset=utf-8",
};

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
}

/** A satisfiable single range (inclusive bounds), "unsatisfiable" (416), or null: serve the whole file. */
export type ByteRange = { start: number; end: number } | "unsatisfiable" | null;

const RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * One `bytes=` range against a file of `size` bytes (RFC 9110 §14.1.2): `a-b`, `a-` and the suffix `-n`.
 * Several ranges or a malformed header are ignored (a 200 with the whole file is a valid answer).
 */
export function parseRange(header: string | null, size: number): ByteRange {
  if (!header) return null;
  const match = RANGE.exec(header.replace(/\s+/g, ""));
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (start >= size) return "unsatisfiable";
  if (end < start) return null;
  return { start, end: Math.min(end, size - 1) };
}

/** If-None-Match against our (strong) tag; weak comparison, as RFC 9110 asks for GET. */
export function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  for (const candidate of header.split(",")) {
    const tag = candidate.trim();
    if ((tag.startsWith("W/") ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

/** If-Range: a range applies only while the representation is still the one the client has. */
export function ifRangeHolds(header: string | null, etag: string): boolean {
  return header === null || header.trim() === etag;
}

const ABSOLUTE = /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/)/;

const withQuery = (uri: string, query: string) =>
  ABSOLUTE.test(uri) ? uri : `${uri}${uri.includes("?") ? "&" : "?"}${query}`;

/**
 * Appends `query` to every relative URI of an HLS playlist: the URI lines (variants, segments) and the
 * `URI="…"` attributes of tags (EXT-X-MAP, EXT-X-MEDIA, EXT-X-KEY, I-frame playlists). Absolute URIs
 * point elsewhere and are left alone.
 */
export function rewritePlaylist(text: string, query: string): string {
  return mapPlaylistUris(text, (uri) => withQuery(uri, query));
}

/** Rewrites every URI of a playlist (media lines and `URI="…"` attributes) with `map`. */
export function mapPlaylistUris(text: string, map: (uri: string) => string): string {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (trimmed.startsWith("#")) {
      if (trimmed.includes('URI="')) {
        lines[i] = line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${map(uri)}"`);
      }
      continue;
    }
    lines[i] = map(trimmed);
  }
  return lines.join("\n");
}
