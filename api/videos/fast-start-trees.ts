// The rules about a revision's fast-start tree (docs/fast-start.md) that the lifecycle applies: who may
// make one, how long it stays after its ladder replaced it, when its playlist is ended for it, and when
// one nothing wants any more goes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { and, eq } from "drizzle-orm";
import { fastStartPrefixFor, isFastStartPrefix, outputPrefixFor } from "../../contract/media.ts";
import type { Database } from "../../db/client.ts";
import { retiredRevisions, type Video, videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";

/**
 * How long a fast-start tree stays after its ladder replaced it, beyond the video's own duration: a
 * viewer who started on it keeps its playlist and plays on, pauses included.
 */
export const FAST_START_RETAIN_EXTRA_SECONDS = 3600;

/** Whether a revision's job may publish a fast-start tree: never over a published ladder. */
export const mayFastStart = (video: Pick<Video, "publishedPrefix">) =>
  video.publishedPrefix === null || isFastStartPrefix(video.publishedPrefix);

/** Watchable now: a published tree, the ladder's or a fast-start one. */
export const isPlayable = (video: Pick<Video, "publishedPrefix">) => video.publishedPrefix !== null;

/** When a replaced fast-start tree is removed (`retired_revisions.remove_after`). */
export function fastStartRemoval(durationSeconds: number | null, retiredGraceSeconds: number): Date {
  const seconds = (durationSeconds ?? 0) + Math.max(FAST_START_RETAIN_EXTRA_SECONDS, retiredGraceSeconds);
  return new Date(Date.now() + seconds * 1000);
}

/**
 * Removes a revision's fast-start tree once nothing can want it: the video is gone, or the revision
 * was replaced, and the tree is neither published nor retired (with its own removal time). The current
 * revision's stays (its job, or a retry, continues it), unless its ladder is published already and the
 * tree never was (`ready` was applied before `playable`): then no viewer can hold it.
 */
export async function dropStaleFastStart(
  deps: { db: Database; storage: MediaStorage },
  videoId: number,
  revision: number,
): Promise<void> {
  const prefix = fastStartPrefixFor(videoId, revision);
  const [current] = await deps.db
    .select({ revision: videos.revision, publishedPrefix: videos.publishedPrefix })
    .from(videos)
    .where(eq(videos.id, videoId));
  if (current?.publishedPrefix === prefix) return;
  const ladderPublished = current?.publishedPrefix === outputPrefixFor(videoId, revision);
  if (current && current.revision === revision && !ladderPublished) return;
  if (current) {
    const retired = await deps.db
      .select({ id: retiredRevisions.id })
      .from(retiredRevisions)
      .where(and(eq(retiredRevisions.videoId, videoId), eq(retiredRevisions.prefix, prefix)));
    if (retired.length > 0) return;
  }
  await deps.storage.deletePrefix(prefix);
}

const ENDLIST = "#EXT-X-ENDLIST";
const uriLines = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
/** What the fast-start master lists: a rung's media playlist inside the tree, nothing else. */
const MEDIA_PLAYLIST_URI = /^[A-Za-z0-9_-]+\/index\.m3u8$/;

/**
 * A job's last word was an error (it failed for good, or its file was replaced or its video deleted
 * under it): no pass will ever add to the revision's fast-start playlists, so they get #EXT-X-ENDLIST
 * over the segments they list, or players on them would wait for more forever. An ended EVENT playlist
 * is a valid VOD. The only media playlist the api writes, and only once no transcoder will (the worker
 * reports an error after its last put); a retry then finds the pass done and goes on to the ladder.
 */
export async function endFastStartPlaylists(
  deps: { db: Database; storage: MediaStorage },
  videoId: number,
  revision: number,
): Promise<string[]> {
  const [current] = await deps.db.select({ id: videos.id }).from(videos).where(eq(videos.id, videoId));
  // A deleted video's tree is removed instead (dropStaleFastStart).
  if (!current) return [];
  const prefix = fastStartPrefixFor(videoId, revision);
  const master = await deps.storage.readText(`${prefix}/master.m3u8`);
  // No master: the tree was never announced playable, so no player holds it.
  if (master === null) return [];
  const ended: string[] = [];
  for (const uri of uriLines(master).filter((line) => MEDIA_PLAYLIST_URI.test(line))) {
    const key = `${prefix}/${uri}`;
    const playlist = await deps.storage.readText(key);
    // Each playlist was put whole, so its text ends in a whole entry.
    if (playlist === null || playlist.split("\n").includes(ENDLIST) || uriLines(playlist).length === 0)
      continue;
    const dir = await mkdtemp(join(tmpdir(), "vf-endlist-"));
    try {
      // Its own name: the S3 driver's Content-Type comes from the file's extension.
      const path = join(dir, basename(key));
      await writeFile(path, `${playlist.trimEnd()}\n${ENDLIST}\n`);
      await deps.storage.putFile(path, key);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    ended.push(key);
  }
  return ended;
}
