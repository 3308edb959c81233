// The rules about a revision's fast-start tree (docs/fast-start.md) that the lifecycle applies: who may
// make one, how long it stays after its ladder replaced it, and when one nothing wants any more goes.
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
