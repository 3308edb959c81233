import type { BunFile } from "bun";
import { Elysia } from "elysia";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { Database } from "../../db/client.ts";
import { isSafeKey, type MediaStorage } from "../../storage/index.ts";
import type { AccessTokens } from "../auth/access-tokens.ts";
import { accessTokenOf } from "../auth/plugin.ts";
import type { Config } from "../config/index.ts";
import { ApiError, forbidden, notFound, unauthorized } from "../http/errors.ts";
import { contentTypeOf, ifRangeHolds, matchesEtag, parseRange, rewritePlaylist } from "./http.ts";
import { type PublishedVideo, PublishedVideos, resolveRung } from "./published.ts";
import { MediaTokens } from "./tokens.ts";

export interface PlaybackDeps {
  config: Pick<Config, "mediaTokenSecret" | "mediaTokenTtlSeconds">;
  db: Database;
  /** The replica's subscriber connection: `vf:video-state` drops cached videos when they change. */
  subscriber?: Redis;
  storage: MediaStorage;
  accessTokens: AccessTokens;
  clock: { now(): Date };
  log: Logger;
}

const VIDEO_ID = /^[1-9]\d{0,9}$/;
const RUNG = /^\d{3,4}p$/;
const FILE = /^[A-Za-z0-9_-]+\.(ts|m4s|mp4|m3u8|jpg|webp|vtt)$/;
const RUNG_FILES = new Set(["ts", "m4s", "mp4", "m3u8"]);
const THUMBNAIL_FILES = new Set(["jpg", "webp", "vtt"]);

/** How long an id → published tree answer is trusted (state changes also drop it at once). */
const VIDEO_CACHE_MS = 5_000;
/** How long a file's size and tag (or a playlist's text) are trusted: published trees never change. */
const FILE_CACHE_MS = 30_000;
const MAX_CACHED_FILES = 50_000;
const YEAR = 31_536_000;
const PLAYLIST_MAX_AGE = 10;
const UNVERSIONED_MAX_AGE = 300;

/** How a request was let in: a session cookie, or a signed token (valid until `expiresAtSeconds`). */
type Access =
  | { via: "cookie" }
  | { via: "token"; token: string; expiresAtSeconds: number }
  | { via: "public" };

interface FileMeta {
  file: BunFile;
  size: number;
  etag: string;
  expiresAtMs: number;
}

interface Target {
  videoId: number;
  /** null for master.m3u8, `thumbnails`, or the rung the client named. */
  dir: string | null;
  file: string;
  version: string | undefined;
}

const notFoundError = () => notFound();

const then = <T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> =>
  value instanceof Promise ? value.then(next) : next(value);

/**
 * HLS playback: master and media playlists, segments, thumbnails and storyboards of listed videos, at
 * the Videoflix paths. Playlists and segments need a session cookie or a signed `?token=` (the api
 * writes one into every URI of the playlists it serves, so players and CDNs without cookies work);
 * thumbnails are public like catalogue art. Files are only ever looked up inside the video's
 * published tree, by strictly shaped names.
 */
export function playbackRoutes(deps: PlaybackDeps) {
  const nowMs = () => deps.clock.now().getTime();
  const tokens = new MediaTokens(deps.config.mediaTokenSecret, deps.config.mediaTokenTtlSeconds, nowMs);
  const published = new PublishedVideos({ db: deps.db, log: deps.log, ttlMs: VIDEO_CACHE_MS });
  if (deps.subscriber) published.listen(deps.subscriber);
  const files = new Map<string, FileMeta>();
  const playlists = new Map<string, { text: string; expiresAtMs: number }>();

  function authorize(request: Request, videoId: number, token: string | undefined): Access | Promise<Access> {
    const cookie = accessTokenOf(request);
    if (deps.accessTokens.cached(cookie)) return { via: "cookie" };
    const checked = token === undefined ? undefined : tokens.check(videoId, token);
    if (checked?.ok) return { via: "token", token: token!, expiresAtSeconds: checked.expiresAtSeconds };
    const refuse = (): Access => {
      if (checked) throw forbidden(checked.reason);
      throw unauthorized();
    };
    if (!cookie) return refuse();
    return deps.accessTokens.verify(cookie).then((user) => (user ? { via: "cookie" } : refuse()));
  }

  function fileMeta(key: string, revision: number): FileMeta | null | Promise<FileMeta | null> {
    const cached = files.get(key);
    if (cached && cached.expiresAtMs > Date.now()) return cached;
    return deps.storage.file(key).then((file) => {
      if (!file) return null;
      const meta: FileMeta = {
        file,
        size: file.size,
        etag: `"${revision.toString(36)}-${file.size.toString(36)}-${Math.floor(file.lastModified).toString(36)}"`,
        expiresAtMs: Date.now() + FILE_CACHE_MS,
      };
      if (files.size >= MAX_CACHED_FILES) files.clear();
      files.set(key, meta);
      return meta;
    });
  }

  async function playlistText(key: string): Promise<string | null> {
    const cached = playlists.get(key);
    if (cached && cached.expiresAtMs > Date.now()) return cached.text;
    const file = await deps.storage.file(key);
    if (!file) return null;
    const text = await file.text();
    if (playlists.size >= MAX_CACHED_FILES) playlists.clear();
    playlists.set(key, { text, expiresAtMs: Date.now() + FILE_CACHE_MS });
    return text;
  }

  function keyOf(video: PublishedVideo, target: Target): string {
    if (target.dir === null || target.dir === "thumbnails") {
      return `${video.prefix}/${target.dir ? `${target.dir}/` : ""}${target.file}`;
    }
    const rung = resolveRung(video, target.dir);
    if (!rung) throw notFoundError();
    return `${video.prefix}/${rung}/${target.file}`;
  }

  async function servePlaylist(request: Request, key: string, video: PublishedVideo, access: Access) {
    const raw = await playlistText(key);
    if (raw === null) throw notFoundError();
    const token = access.via === "token" ? access.token : tokens.mint(video.id);
    const body = rewritePlaylist(raw, `v=${video.revision}&token=${token}`);
    const etag = `"${Bun.hash(body).toString(36)}"`;
    const headers: Record<string, string> = {
      "content-type": contentTypeOf(key),
      etag,
      // The body carries a token: never for a shared cache when the cookie let the request in.
      "cache-control": `${access.via === "cookie" ? "private" : "public"}, max-age=${PLAYLIST_MAX_AGE}`,
    };
    if (matchesEtag(request.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(body, { headers });
  }

  function cacheControl(access: Access, versioned: boolean): string {
    const maxAge = versioned ? YEAR : UNVERSIONED_MAX_AGE;
    const immutable = versioned ? ", immutable" : "";
    switch (access.via) {
      case "cookie":
        return `private, max-age=${maxAge}${immutable}`;
      case "public":
        return `public, max-age=${maxAge}${immutable}`;
      case "token": {
        // A shared cache must not answer for a URL whose token has expired.
        const left = Math.max(0, Math.min(maxAge, access.expiresAtSeconds - Math.floor(nowMs() / 1000)));
        return `public, max-age=${maxAge}, s-maxage=${left}${immutable}`;
      }
    }
  }

  function serveFile(request: Request, meta: FileMeta, key: string, access: Access, versioned: boolean) {
    const headers: Record<string, string> = {
      "content-type": contentTypeOf(key),
      "accept-ranges": "bytes",
      etag: meta.etag,
      "cache-control": cacheControl(access, versioned),
    };
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

  function serve(request: Request, target: Target, token: string | undefined) {
    const extension = target.file.slice(target.file.lastIndexOf(".") + 1);
    const isThumbnail = target.dir === "thumbnails";
    const access: Access | Promise<Access> = isThumbnail
      ? { via: "public" }
      : authorize(request, target.videoId, token);
    return then(access, (access) =>
      then(published.get(target.videoId), (video) => {
        if (!video) throw notFoundError();
        // Versioned URLs (the ones our playlists write) name the revision: an old one is gone.
        if (target.version !== undefined && target.version !== String(video.revision)) throw notFoundError();
        const key = keyOf(video, target);
        // Storage keys are stricter still (no leading "-" or "_"): such a name cannot exist there.
        if (!isSafeKey(key)) throw notFoundError();
        if (extension === "m3u8" && !isThumbnail) return servePlaylist(request, key, video, access);
        return then(fileMeta(key, video.revision), (meta) => {
          if (!meta) throw notFoundError();
          return serveFile(request, meta, key, access, target.version !== undefined);
        });
      }),
    );
  }

  /** Refuses anything but the strict shapes before credentials or storage are looked at. */
  function targetOf(id: string, dir: string | null, file: string, version: string | undefined): Target {
    if (!VIDEO_ID.test(id) || Number(id) > 2 ** 31 - 1) throw notFoundError();
    const name = FILE.exec(file);
    if (!name) throw notFoundError();
    const extension = name[1]!;
    if (dir === null) {
      if (file !== "master.m3u8") throw notFoundError();
    } else if (dir === "thumbnails") {
      if (!THUMBNAIL_FILES.has(extension)) throw notFoundError();
    } else if (!RUNG.test(dir) || !RUNG_FILES.has(extension)) {
      throw notFoundError();
    }
    return { videoId: Number(id), dir, file, version };
  }

  const detail = (summary: string, description: string) => ({ tags: ["Playback"], summary, description });
  const credentials =
    "Needs the session cookie or a signed `token` query parameter (as written into the playlists the api serves): 401 without either, 403 for a tampered or expired token, 404 for a video that is not listed.";

  return new Elysia({ name: "playback" })
    .onStop(() => published.close())
    .get(
      "/api/video/:id/master.m3u8",
      ({ request, params, query }) =>
        serve(request, targetOf(params.id, null, "master.m3u8", query.v), query.token),
      {
        detail: detail(
          "Master playlist",
          `Every rung of the published ladder; every URI carries \`v\` (the revision) and a signed \`token\`. ${credentials}`,
        ),
      },
    )
    .get(
      "/api/video/:id/:res/:file",
      ({ request, params, query }) =>
        serve(request, targetOf(params.id, params.res, params.file, query.v), query.token),
      {
        detail: detail(
          "Media playlist, segment, thumbnail or storyboard",
          `\`res\` is a rung such as \`720p\` (a missing rung is served by the nearest lower one) or \`thumbnails\` (posters and storyboard, public). Byte ranges, ETag/If-None-Match. A trailing slash is accepted. ${credentials}`,
        ),
      },
    );
}
