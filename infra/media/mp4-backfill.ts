// What `bun run media:backfill-mp4` does for each video: the published revision's rungs that have no
// progressive MP4 yet (transcoded before MP4s were made) are remuxed from their own HLS segments, with
// the transcoder's own step (transcoder/hls/progressive-mp4.ts: a stream copy, checked), stored beside
// them under the published prefix, and listed in the stored result. It lives here, not in api/ or
// transcoder/, because it is both: it reads and writes PostgreSQL and runs FFmpeg.
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { and, asc, eq, isNotNull } from "drizzle-orm";
import type { ProgressiveMp4, Rendition } from "../../contract/media.ts";
import type { Database } from "../../db/client.ts";
import { videos } from "../../db/schema/index.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { MEDIA_PLAYLIST } from "../../transcoder/ffmpeg-args.ts";
import { PROGRESSIVE_MP4, remuxRung } from "../../transcoder/hls/progressive-mp4.ts";

/**
 * A rung's name as the transcoder makes it (transcoder/ladder.ts: the short side and `p`), which is also
 * its folder: a stored name is a path segment here, so anything else (`../`, a slash) is refused.
 */
export const RENDITION_NAME = /^[0-9]{2,5}p$/;

/** A listed video as the backfill reads it. */
export interface PublishedRow {
  id: number;
  revision: number;
  prefix: string;
  renditions: Rendition[];
}

/** How one video went: MP4s added; `changed` (a new revision was published or it was deleted meanwhile); `failed`. */
export type VideoOutcome =
  | { status: "done"; row: PublishedRow; added: Array<{ name: string; size: number }>; seconds: number }
  | { status: "changed"; row: PublishedRow }
  | { status: "failed"; row: PublishedRow; message: string };

export interface BackfillDeps {
  db: Database;
  storage: MediaStorage;
}

/** Every listed video, and which of them still lack an MP4 for some rung. */
export async function readPublished(db: Database): Promise<{ all: number; missing: PublishedRow[] }> {
  const rows = await db
    .select({
      id: videos.id,
      revision: videos.publishedRevision,
      prefix: videos.publishedPrefix,
      renditions: videos.renditions,
    })
    .from(videos)
    .where(and(isNotNull(videos.publishedRevision), isNotNull(videos.publishedPrefix)))
    .orderBy(asc(videos.id));
  const published = rows.map((row) => ({ ...row, revision: row.revision!, prefix: row.prefix! }));
  return { all: published.length, missing: published.filter((row) => rungsWithoutMp4(row).length > 0) };
}

export const rungsWithoutMp4 = (row: Pick<PublishedRow, "renditions">) =>
  row.renditions.filter((rendition) => rendition.mp4 === undefined);

/**
 * Remuxes the rungs of `row` that lack an MP4 and records them, only if the row still publishes that
 * revision (a re-transcode published meanwhile has MP4s of its own; the files written here go with the
 * old tree). Running it again after any failure is safe: what is recorded is skipped, the rest redone.
 */
export async function backfillVideo(deps: BackfillDeps, row: PublishedRow): Promise<VideoOutcome> {
  const { storage } = deps;
  const startedAt = performance.now();
  // Before anything is read or written: one bad name leaves the whole video as it is.
  const unsafe = rungsWithoutMp4(row).find((rendition) => !RENDITION_NAME.test(rendition.name));
  if (unsafe) {
    return {
      status: "failed",
      row,
      message: `rendition name ${JSON.stringify(unsafe.name)} is not a rung's (<short side>p, as the transcoder names them): refused, nothing remuxed`,
    };
  }
  // A label of this run alone: discarding it never touches another run's (or anyone's) staging.
  const label = `backfill-mp4-${randomUUID().slice(0, 8)}`;
  try {
    const scratch = await storage.createStagingDir(label);
    // Every rung first, then the uploads: a rung that fails leaves nothing behind in the tree.
    const remuxed: Array<{ name: string; output: string; size: number }> = [];
    for (const rendition of rungsWithoutMp4(row)) {
      const folder = await localRung(
        storage,
        `${row.prefix}/${rendition.name}`,
        join(scratch, rendition.name),
      );
      const output = join(scratch, `${rendition.name}.mp4`);
      const { size } = await remuxRung(folder, output, {
        audio: rendition.codecs.includes("mp4a"),
        frameRate: rendition.frameRate,
      });
      remuxed.push({ name: rendition.name, output, size });
    }
    const added = new Map<string, ProgressiveMp4>();
    for (const { name, output, size } of remuxed) {
      const path = `${name}/${PROGRESSIVE_MP4}`;
      // Appears whole or not at all (a rename locally, a completed multipart upload in a bucket).
      await storage.putStream(`${row.prefix}/${path}`, Bun.file(output).stream(), { maxBytes: size });
      added.set(name, { path, size });
    }
    const renditions = row.renditions.map((rendition) => {
      const mp4 = added.get(rendition.name);
      return mp4 ? { ...rendition, mp4 } : rendition;
    });
    const updated = await deps.db
      .update(videos)
      .set({ renditions })
      .where(and(eq(videos.id, row.id), eq(videos.publishedRevision, row.revision)))
      .returning({ id: videos.id });
    if (updated.length === 0) return { status: "changed", row };
    return {
      status: "done",
      row,
      added: [...added].map(([name, mp4]) => ({ name, size: mp4.size })),
      seconds: (performance.now() - startedAt) / 1000,
    };
  } catch (error) {
    // A tree that vanished mid-run because the video was replaced or deleted is not a failure.
    if (!(await stillPublished(deps.db, row))) return { status: "changed", row };
    return { status: "failed", row, message: error instanceof Error ? error.message : String(error) };
  } finally {
    await storage.discardStaging(label).catch(() => {});
  }
}

async function stillPublished(db: Database, row: PublishedRow): Promise<boolean> {
  const [current] = await db
    .select({ id: videos.id })
    .from(videos)
    .where(and(eq(videos.id, row.id), eq(videos.publishedRevision, row.revision)));
  return current !== undefined;
}

/**
 * A local folder holding the rung's playlist and segments: the published folder itself on the local
 * driver (FFmpeg reads them in place), a download into `dir` from a bucket.
 */
async function localRung(storage: MediaStorage, rungKey: string, dir: string): Promise<string> {
  if (storage.kind === "local")
    return dirname(await storage.fetchToLocal(`${rungKey}/${MEDIA_PLAYLIST}`, dir));
  let playlist = false;
  for await (const object of storage.list(`${rungKey}/`)) {
    const name = object.key.slice(rungKey.length + 1);
    if (name.includes("/") || !(name.endsWith(".ts") || name === MEDIA_PLAYLIST)) continue;
    await storage.fetchToLocal(object.key, dir);
    playlist ||= name === MEDIA_PLAYLIST;
  }
  if (!playlist) throw new Error(`no object at ${rungKey}/${MEDIA_PLAYLIST}`);
  return dir;
}
