import { FAST_START_SUFFIX, fastStartPrefixFor } from "../../contract/media.ts";
import { isSafeKey, type MediaStorage } from "../../storage/index.ts";
import { accessTokenOf, cookieSession } from "../auth/plugin.ts";
import type { AccessTokens } from "../auth/session.ts";
import { forbidden, notFound, unauthorized } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import { mapPlaylistUris, rewritePlaylist } from "./http.ts";
import { isDownload, isPlaylist, isThumbnail, type PlaybackAccess, type PlaybackTarget } from "./model.ts";
import { type FileMeta, fileResponse, playlistResponse } from "./presenter.ts";
import { type PublishedVideo, type PublishedVideos, resolveRung } from "./published.ts";
import type { MediaTokens } from "./tokens.ts";

/** How long a file's size and tag (or a playlist's text) are trusted: published trees never change. */
const FILE_CACHE_MS = 30_000;
/** A fast-start media playlist grows while its pass runs: its text is trusted for a second. */
const LIVE_PLAYLIST_CACHE_MS = 1_000;
const MAX_CACHED_FILES = 50_000;

/** Runs `next` at once on a plain value: the hot path (everything cached) stays synchronous. */
const then = <T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> =>
  value instanceof Promise ? value.then(next) : next(value);

/** The file name a downloaded MP4 is saved as: `video-12-720p.mp4` (the rung actually served). */
const downloadName = (videoId: number, key: string) => `video-${videoId}-${key.split("/").at(-2)}.mp4`;

/** `<expiry seconds>.<tag>`: when the token, and every URL signed along with it, stops working. */
const tokenExpirySeconds = (token: string) => Number(token.slice(0, token.indexOf(".")));

export interface PlaybackDeps {
  storage: MediaStorage;
  accessTokens: AccessTokens;
  mediaTokens: MediaTokens;
  published: PublishedVideos;
  clock: Clock;
}

/**
 * HLS delivery of listed videos: who may fetch a file (session cookie or signed token; thumbnails are
 * public like catalogue art), where it lives in the published tree (nearest lower rung for a missing
 * one), and the playlists rewritten so that every URI carries the revision and a token.
 */
export class PlaybackService {
  private readonly files = new Map<string, FileMeta>();
  private readonly playlists = new Map<string, { text: string; expiresAtMs: number }>();
  /** Playlists as served (URIs rewritten), by key and token. */
  private readonly rendered = new Map<string, { text: string; expiresAtMs: number }>();

  constructor(private readonly deps: PlaybackDeps) {}

  serve(request: Request, target: PlaybackTarget, token: string | undefined): Response | Promise<Response> {
    const access = isThumbnail(target)
      ? ({ via: "public" } as const)
      : this.authorize(request, target, token);
    return then(access, (access) =>
      then(this.deps.published.get(target.videoId), (published) => {
        if (!published) throw notFound();
        const video = this.treeOf(published, target);
        const key = this.keyOf(video, target);
        // Storage keys are stricter still (no leading "-" or "_"): such a name cannot exist there.
        if (!isSafeKey(key)) throw notFound();
        if (isPlaylist(target)) return this.playlist(request, key, video, access);
        const downloadAs = isDownload(target) ? downloadName(video.id, key) : undefined;
        if (this.deps.storage.kind === "s3") return this.redirect(key, access, downloadAs);
        return then(this.fileMeta(key, video.revision), (meta) => {
          if (!meta) throw notFound();
          return fileResponse(request, meta, key, access, {
            versioned: target.version !== undefined,
            nowMs: this.nowMs(),
            downloadAs,
          });
        });
      }),
    );
  }

  /**
   * The tree a request is for. Versioned URLs (the ones our playlists write) name the revision: an old
   * one is gone, except the fast-start tree of the published revision, which stays a while after its
   * ladder replaced it (retired, docs/fast-start.md) for the players that started on it.
   */
  private treeOf(video: PublishedVideo, target: PlaybackTarget): PublishedVideo {
    if (target.version === undefined || target.version === video.version) return video;
    if (target.version !== `${video.revision}${FAST_START_SUFFIX}` || video.live) throw notFound();
    const rung = target.dir !== null && !isThumbnail(target) ? target.dir : null;
    return {
      ...video,
      version: target.version,
      prefix: fastStartPrefixFor(video.id, video.revision),
      live: true,
      rungs: rung ? [{ name: rung, height: Number.parseInt(rung, 10) }] : [],
    };
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }

  private authorize(
    request: Request,
    target: PlaybackTarget,
    token: string | undefined,
  ): PlaybackAccess | Promise<PlaybackAccess> {
    if (cookieSession.cachedOf(this.deps.accessTokens, request)) return { via: "cookie" };
    const checked = token === undefined ? undefined : this.deps.mediaTokens.check(target.videoId, token);
    if (checked?.ok) return { via: "token", token: token!, expiresAtSeconds: checked.expiresAtSeconds };
    const refuse = (): PlaybackAccess => {
      if (checked) throw forbidden(checked.reason);
      throw unauthorized();
    };
    const cookie = accessTokenOf(request);
    if (!cookie) return refuse();
    return cookieSession
      .verify(this.deps.accessTokens, cookie)
      .then((user) => (user ? { via: "cookie" } : refuse()));
  }

  private keyOf(video: PublishedVideo, target: PlaybackTarget): string {
    if (target.dir === null || isThumbnail(target)) {
      return `${video.prefix}/${target.dir ? `${target.dir}/` : ""}${target.file}`;
    }
    const rung = resolveRung(video, target.dir);
    if (!rung) throw notFound();
    return `${video.prefix}/${rung}/${target.file}`;
  }

  private async playlist(request: Request, key: string, video: PublishedVideo, access: PlaybackAccess) {
    const token = access.via === "token" ? access.token : this.deps.mediaTokens.mint(video.id);
    const cacheKey = `${key}|${token}`;
    const cached = this.rendered.get(cacheKey);
    const live = { live: video.live };
    if (cached && cached.expiresAtMs > Date.now())
      return playlistResponse(request, key, cached.text, access, live);
    const trustMs = video.live ? LIVE_PLAYLIST_CACHE_MS : FILE_CACHE_MS;
    const raw = await this.playlistText(key, trustMs);
    if (raw === null) throw notFound();
    const text = this.isMediaPlaylistInBucket(key)
      ? this.presignedPlaylist(raw, key, tokenExpirySeconds(token))
      : rewritePlaylist(raw, `v=${video.version}&token=${token}`);
    if (this.rendered.size >= MAX_CACHED_FILES) this.rendered.clear();
    this.rendered.set(cacheKey, {
      text,
      expiresAtMs: Math.min(Date.now() + trustMs, tokenExpirySeconds(token) * 1000),
    });
    return playlistResponse(request, key, text, access, live);
  }

  /** With object storage, a rung's playlist names its segments by presigned URLs straight to the store. */
  private isMediaPlaylistInBucket(key: string): boolean {
    return this.deps.storage.kind === "s3" && !key.endsWith("/master.m3u8");
  }

  /**
   * Every segment URI becomes a presigned GET URL valid as long as the playlist's token: players fetch
   * segments from the store (or a CDN in front of it), never through the api. The rendering is cached
   * per token, which changes only once per token bucket.
   */
  private presignedPlaylist(raw: string, key: string, expiresAtSeconds: number): string {
    const folder = key.slice(0, key.lastIndexOf("/") + 1);
    const expiresIn = Math.max(60, expiresAtSeconds - Math.floor(this.nowMs() / 1000));
    return mapPlaylistUris(raw, (uri) =>
      /^[A-Za-z0-9_-]+\.(ts|m4s|mp4)$/.test(uri)
        ? (this.deps.storage.presign(`${folder}${uri}`, expiresIn) ?? uri)
        : uri,
    );
  }

  /** A file in the bucket: after the same access check, the client is sent to a short-lived URL. */
  private async redirect(key: string, access: PlaybackAccess, downloadAs?: string): Promise<Response> {
    const expiresIn =
      access.via === "token"
        ? Math.max(60, access.expiresAtSeconds - Math.floor(this.nowMs() / 1000))
        : this.deps.mediaTokens.ttlSeconds;
    const delivery = await this.deps.storage.deliver(key, expiresIn, { downloadAs });
    if (delivery?.kind !== "url") throw notFound();
    return new Response(null, {
      status: 302,
      headers: {
        location: delivery.url,
        // The URL is signed for this client's access: never for a shared cache.
        "cache-control": `private, max-age=${Math.min(expiresIn, 300)}`,
      },
    });
  }

  private fileMeta(key: string, revision: number): FileMeta | null | Promise<FileMeta | null> {
    const cached = this.files.get(key);
    if (cached && cached.expiresAtMs > Date.now()) return cached;
    return this.deps.storage.deliver(key, 0).then((delivery) => {
      if (delivery?.kind !== "file") return null;
      const file = delivery.file;
      const meta: FileMeta = {
        file,
        size: file.size,
        etag: `"${revision.toString(36)}-${file.size.toString(36)}-${Math.floor(file.lastModified).toString(36)}"`,
        expiresAtMs: Date.now() + FILE_CACHE_MS,
      };
      if (this.files.size >= MAX_CACHED_FILES) this.files.clear();
      this.files.set(key, meta);
      return meta;
    });
  }

  private async playlistText(key: string, trustMs: number): Promise<string | null> {
    const cached = this.playlists.get(key);
    if (cached && cached.expiresAtMs > Date.now()) return cached.text;
    const text = await this.deps.storage.readText(key);
    if (text === null) return null;
    if (this.playlists.size >= MAX_CACHED_FILES) this.playlists.clear();
    this.playlists.set(key, { text, expiresAtMs: Date.now() + trustMs });
    return text;
  }
}
