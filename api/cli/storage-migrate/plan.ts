// What a move to object storage must copy: for every video its current source and, when it has one,
// every object of its published revision. A published revision is checked against what its own
// playlists, posters and storyboard name, so a file missing on disk fails the run instead of going
// unnoticed (a listing alone only shows what is there).
import { posix } from "node:path";
import { asc } from "drizzle-orm";
import type { PosterImage, Rendition, Storyboard } from "../../../contract/media.ts";
import type { Database } from "../../../db/client.ts";
import { videos } from "../../../db/schema/index.ts";
import type { LocalMediaStorage } from "../../../storage/index.ts";

export interface PlannedObject {
  key: string;
  size: number;
}

export interface VideoPlan {
  videoId: number;
  /** Media first, playlists last: once a playlist is in the bucket, what it names is too. */
  objects: PlannedObject[];
}

export interface MissingObject {
  videoId: number;
  key: string;
  /** Why the object was expected ("the source", "named by videos/1/r1/master.m3u8", …). */
  expectedBy: string;
}

export interface MigrationPlan {
  videos: VideoPlan[];
  missing: MissingObject[];
  objects: number;
  bytes: number;
}

/** The columns of a video the plan needs. */
export interface VideoRow {
  id: number;
  sourceKey: string;
  publishedPrefix: string | null;
  masterPlaylist: string | null;
  posters: PosterImage[];
  storyboard: Storyboard | null;
  renditions: Rendition[];
}

export function readVideoRows(db: Database): Promise<VideoRow[]> {
  return db
    .select({
      id: videos.id,
      sourceKey: videos.sourceKey,
      publishedPrefix: videos.publishedPrefix,
      masterPlaylist: videos.masterPlaylist,
      posters: videos.posters,
      storyboard: videos.storyboard,
      renditions: videos.renditions,
    })
    .from(videos)
    .orderBy(asc(videos.id));
}

export async function planMigration(rows: VideoRow[], source: LocalMediaStorage): Promise<MigrationPlan> {
  const plan: MigrationPlan = { videos: [], missing: [], objects: 0, bytes: 0 };
  for (const row of rows) {
    const objects: PlannedObject[] = [];
    const sourceInfo = await source.stat(row.sourceKey);
    if (sourceInfo) objects.push({ key: row.sourceKey, size: sourceInfo.size });
    else plan.missing.push({ videoId: row.id, key: row.sourceKey, expectedBy: "the video's source" });

    if (row.publishedPrefix !== null) {
      const listed = new Map<string, number>();
      for await (const object of source.list(`${row.publishedPrefix}/`)) listed.set(object.key, object.size);
      for (const [key, expectedBy] of await expectedObjects(row, row.publishedPrefix, listed, source)) {
        if (!listed.has(key)) plan.missing.push({ videoId: row.id, key, expectedBy });
      }
      const keys = [...listed.keys()];
      const ordered = [...keys.filter((key) => !isPlaylist(key)), ...keys.filter(isPlaylist)];
      for (const key of ordered) objects.push({ key, size: listed.get(key)! });
    }
    plan.videos.push({ videoId: row.id, objects });
    plan.objects += objects.length;
    plan.bytes += objects.reduce((sum, object) => sum + object.size, 0);
  }
  return plan;
}

const isPlaylist = (key: string) => key.endsWith(".m3u8");

/** Every key the published revision's row and playlists name, with what names it. */
async function expectedObjects(
  row: VideoRow,
  prefix: string,
  listed: Map<string, number>,
  source: LocalMediaStorage,
): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  const fromRow = `the row of video ${row.id}`;
  for (const poster of row.posters) {
    expected.set(`${prefix}/${poster.jpeg}`, fromRow);
    expected.set(`${prefix}/${poster.webp}`, fromRow);
  }
  if (row.storyboard) {
    for (const file of [row.storyboard.vtt, ...row.storyboard.sprites])
      expected.set(`${prefix}/${file}`, fromRow);
  }
  for (const rendition of row.renditions) {
    if (rendition.mp4) expected.set(`${prefix}/${rendition.mp4.path}`, fromRow);
  }
  // The master names the media playlists, each media playlist its segments (and init section).
  const pending = row.masterPlaylist ? [`${prefix}/${row.masterPlaylist}`] : [];
  if (row.masterPlaylist) expected.set(pending[0]!, fromRow);
  while (pending.length > 0) {
    const playlist = pending.shift()!;
    // A playlist that is not there is reported as missing itself; what it would name is unknown.
    const text = listed.has(playlist) ? await source.readText(playlist) : null;
    if (text === null) continue;
    for (const uri of playlistUris(text)) {
      const key = posix.normalize(posix.join(posix.dirname(playlist), uri));
      if (!key.startsWith(`${prefix}/`) || expected.has(key)) continue;
      expected.set(key, `named by ${playlist}`);
      if (isPlaylist(key)) pending.push(key);
    }
  }
  return expected;
}

/** The relative URIs of an HLS playlist: its non-tag lines and the URI="…" attributes of its tags. */
export function playlistUris(text: string): string[] {
  const uris: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      for (const match of line.matchAll(/URI="([^"]+)"/g)) uris.push(match[1]!);
    } else {
      uris.push(line);
    }
  }
  // Absolute URLs and query strings point outside the tree: they are not ours to copy.
  return uris.filter((uri) => !/^[a-z][a-z0-9+.-]*:|^\/|[?#]/i.test(uri));
}
