// Publishes the fast-start rendition while FFmpeg writes it: each segment FFmpeg has finished is put
// into the fast-start prefix whole, and only then does the published EVENT playlist list it. A retry
// (another attempt, after a crash or a lost lock) starts from what is already published and only adds
// to it: viewers never see a segment vanish or a playlist shrink.
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MediaStorage } from "../../storage/index.ts";
import { MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import { eventPlaylist, listedSegments, type PublishedSegment } from "./playlist.ts";

export interface PublisherDeps {
  storage: MediaStorage;
  /** The fast-start prefix (contract/media.ts fastStartPrefixFor). */
  prefix: string;
  /** The rung's folder name, in FFmpeg's output and in the prefix. */
  rung: string;
  /** FFmpeg's output folder (the attempt's staging): `<rung>/index.m3u8` and its segments. */
  ffmpegDir: string;
  /** This attempt's own folder for the playlists it writes before putting them. */
  workDir: string;
  /** EXT-X-TARGETDURATION, the ladder's segment length: fixed for the playlist's whole life. */
  targetSeconds: number;
  /** Throws when this attempt may no longer publish (its lock is gone, its video was deleted). */
  beforePublish: () => Promise<void>;
}

export class FastStartPublisher {
  private published: PublishedSegment[] = [];
  private ended = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PublisherDeps) {}

  get mediaPlaylistKey(): string {
    return `${this.deps.prefix}/${this.deps.rung}/${MEDIA_PLAYLIST}`;
  }

  /** Segments listed by the published playlist so far. */
  get segments(): readonly PublishedSegment[] {
    return this.published;
  }

  /** Whether the published playlist is complete (#EXT-X-ENDLIST). */
  get complete(): boolean {
    return this.ended;
  }

  /** Reads what an earlier attempt published, which this one then continues. */
  async resume(): Promise<void> {
    const text = await this.deps.storage.readText(this.mediaPlaylistKey);
    if (text === null) return;
    const { segments, ended } = listedSegments(text);
    this.published = segments;
    this.ended = ended;
  }

  /**
   * Publishes the segments FFmpeg has finished since the last call, then the playlist that lists them
   * (with ENDLIST when `final`). Calls run one after the other. Returns how many segments are published.
   */
  sync(final = false): Promise<number> {
    const next = this.queue.then(() => this.syncNow(final));
    this.queue = next.catch(() => {});
    return next;
  }

  private async syncNow(final: boolean): Promise<number> {
    if (this.ended) return this.published.length;
    const staged = await Bun.file(join(this.deps.ffmpegDir, this.deps.rung, MEDIA_PLAYLIST))
      .text()
      .catch(() => "");
    const { segments } = listedSegments(staged);
    const fresh: PublishedSegment[] = [];
    for (const segment of segments.slice(this.published.length)) {
      // FFmpeg renames a segment into place before listing it; a missing or empty one waits a round.
      const size = await stat(this.stagedPath(segment.uri)).then(
        (info) => info.size,
        () => 0,
      );
      if (size === 0) break;
      if (Math.round(segment.durationSeconds) > this.deps.targetSeconds) {
        throw new Error(
          `fast-start segment ${segment.uri} lasts ${segment.durationSeconds}s, over ${this.deps.targetSeconds}s`,
        );
      }
      fresh.push(segment);
    }
    if (fresh.length === 0 && !final) return this.published.length;
    if (final && segments.length < this.published.length) {
      throw new Error("the fast-start encode ended with fewer segments than were already published");
    }
    await this.deps.beforePublish();
    for (const segment of fresh) {
      await this.deps.storage.putFile(
        this.stagedPath(segment.uri),
        `${this.deps.prefix}/${this.deps.rung}/${segment.uri}`,
      );
    }
    const listed = [...this.published, ...fresh];
    const path = join(this.deps.workDir, `${this.deps.rung}-${MEDIA_PLAYLIST}`);
    await writeFile(path, eventPlaylist(listed, this.deps.targetSeconds, final));
    await this.deps.storage.putFile(path, this.mediaPlaylistKey);
    this.published = listed;
    this.ended = final;
    return listed.length;
  }

  private stagedPath(uri: string): string {
    return join(this.deps.ffmpegDir, this.deps.rung, uri);
  }
}
