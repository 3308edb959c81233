// What must hold after every fault, once it is over: nothing lost, nothing stuck, nothing left behind.
// Read from the stores themselves (PostgreSQL, the queue in Redis, the media volume, /proc), not from the
// api's answers, so that a wrong answer cannot hide a wrong state.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Queue } from "bullmq";
import HLS from "hls-parser";
import postgres from "postgres";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { ffmpegWritingUnder } from "./processes.ts";

export interface VideoRow {
  id: number;
  state: string;
  error: string | null;
  sourceKey: string;
  publishedRevision: number | null;
}

/** An error a viewer or an admin can read: one sentence of ours, not FFmpeg's stderr or a stack. */
export function unreadableError(message: string | null): string | null {
  if (!message?.trim()) return "no message";
  if (/ffmpeg|stderr|Error:|\bat \/|\n|ENOSPC|errno/i.test(message))
    return `not readable: "${message.slice(0, 160)}"`;
  return null;
}

export class Stores {
  private readonly sql: postgres.Sql;
  private readonly queue: Queue;

  constructor(databaseUrl: string, redisUrl: string) {
    this.sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 3 });
    this.queue = new Queue(TRANSCODE_QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: 1 } });
    // Outages are the point of the run: the queue's reconnect errors are expected, not news.
    this.queue.on("error", () => {});
  }

  async videos(): Promise<VideoRow[]> {
    return this.sql<VideoRow[]>`
      select id, processing_state as state, processing_error as error, source_key as "sourceKey",
             published_revision as "publishedRevision"
      from videos order by id`;
  }

  /** The stored position of `videoId` for the admin (the only viewer of the run). */
  async storedPosition(videoId: number): Promise<number | null> {
    const rows = await this.sql<Array<{ position: number }>>`
      select position_seconds as position from watch_progress where video_id = ${videoId}`;
    return rows[0]?.position ?? null;
  }

  /** Jobs the queue still means to run or runs now (none once everything settled). */
  async unfinishedJobs(): Promise<Record<string, number>> {
    const counts = await this.queue.getJobCounts(
      "active",
      "waiting",
      "delayed",
      "prioritized",
      "waiting-children",
    );
    return Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => {});
    await this.sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** Everything on the media volume that belongs to no video: staging, orphan sources and trees, FFmpeg. */
export function leftovers(mediaRoot: string, videos: VideoRow[]): string[] {
  const found: string[] = [];
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  for (const name of entries(join(mediaRoot, ".staging"))) found.push(`.staging/${name}`);
  const sources = new Set(videos.map((video) => video.sourceKey));
  for (const name of entries(join(mediaRoot, "sources")))
    if (!sources.has(`sources/${name}`)) found.push(`sources/${name}`);
  const published = new Set(videos.map((video) => `${video.id}/r${video.publishedRevision}`));
  // The published revision's fast-start tree stays a while after its ladder replaced it (retired).
  const treeOf = (revision: string) => revision.replace(/-fast$/, "");
  for (const id of entries(join(mediaRoot, "videos")))
    for (const revision of entries(join(mediaRoot, "videos", id)))
      if (!published.has(`${id}/${treeOf(revision)}`)) found.push(`videos/${id}/${revision}`);
  for (const ffmpeg of ffmpegWritingUnder(mediaRoot)) found.push(`ffmpeg pid ${ffmpeg.pid}`);
  return found;
}

/** What a `ready` video lacks to be played: its master playlist, a rendition's playlist or a segment. */
export function missingMedia(mediaRoot: string, video: VideoRow): string | null {
  const tree = join(mediaRoot, "videos", String(video.id), `r${video.publishedRevision}`);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : null);
  const master = read(join(tree, "master.m3u8"));
  if (master === null) return `video ${video.id} is ready without ${relative(mediaRoot, tree)}/master.m3u8`;
  const parsed = HLS.parse(master);
  if (!parsed.isMasterPlaylist) return `video ${video.id}: master.m3u8 is a media playlist`;
  for (const variant of parsed.variants) {
    const path = join(tree, variant.uri);
    const text = read(path);
    if (text === null) return `video ${video.id} is ready without ${variant.uri}`;
    const media = HLS.parse(text);
    if (media.isMasterPlaylist) return `video ${video.id}: ${variant.uri} is not a media playlist`;
    for (const segment of media.segments)
      if (!existsSync(join(dirname(path), segment.uri)))
        return `video ${video.id} is ready without ${segment.uri}`;
  }
  return null;
}
