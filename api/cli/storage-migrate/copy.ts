// Copies a plan's objects from the local driver to the target, N at a time. An object the target
// already holds with the same size is skipped (every key is written once and never changed: sources
// are named by a UUID, revisions by their number), so an interrupted run is finished by running it again.
import type { LocalMediaStorage, MediaStorage } from "../../../storage/index.ts";
import type { MigrationPlan, PlannedObject } from "./plan.ts";

export interface CopyTally {
  objects: number;
  bytes: number;
}

export interface CopySummary {
  /** Objects written to the target (in a dry run: that would be written). */
  copied: CopyTally;
  /** Objects the target already held with the right size. */
  present: CopyTally;
  failures: Array<{ videoId: number; key: string; message: string }>;
}

export interface VideoDone {
  videoId: number;
  objects: number;
  bytes: number;
  copied: number;
  present: number;
  /** Objects and bytes finished so far, over every video. */
  done: CopyTally;
}

export interface CopyOptions {
  source: LocalMediaStorage;
  target: MediaStorage;
  concurrency: number;
  dryRun: boolean;
  onVideoDone?: (video: VideoDone) => void;
  /** Bytes streamed so far (in flight included), for a periodic progress line. */
  onBytes?: (streamed: number) => void;
}

const ATTEMPTS = 3;

export async function copyPlan(plan: MigrationPlan, options: CopyOptions): Promise<CopySummary> {
  const summary: CopySummary = {
    copied: { objects: 0, bytes: 0 },
    present: { objects: 0, bytes: 0 },
    failures: [],
  };
  const done: CopyTally = { objects: 0, bytes: 0 };
  const work = plan.videos.flatMap((video) => video.objects.map((object) => ({ video, object })));
  const remaining = new Map(plan.videos.map((video) => [video.videoId, video.objects.length]));
  const perVideo = new Map(plan.videos.map((video) => [video.videoId, { copied: 0, present: 0 }]));
  let streamed = 0;

  const finishVideo = (videoId: number) => {
    const video = plan.videos.find((candidate) => candidate.videoId === videoId)!;
    const counts = perVideo.get(videoId)!;
    options.onVideoDone?.({
      videoId,
      objects: video.objects.length,
      bytes: video.objects.reduce((sum, object) => sum + object.size, 0),
      ...counts,
      done: { ...done },
    });
  };
  // A video with nothing to copy (no source on record, nothing published) still gets its line.
  for (const video of plan.videos) if (video.objects.length === 0) finishVideo(video.videoId);

  let next = 0;
  const worker = async () => {
    // After the first failure no new object is started; those in flight finish.
    while (next < work.length && summary.failures.length === 0) {
      const { video, object } = work[next++]!;
      try {
        const outcome = await copyObject(object, options, (bytes) => {
          streamed += bytes;
          options.onBytes?.(streamed);
        });
        const tally = outcome === "copied" ? summary.copied : summary.present;
        tally.objects++;
        tally.bytes += object.size;
        perVideo.get(video.videoId)![outcome]++;
      } catch (error) {
        summary.failures.push({
          videoId: video.videoId,
          key: object.key,
          message: error instanceof Error ? error.message : String(error),
        });
        continue;
      }
      done.objects++;
      done.bytes += object.size;
      const left = remaining.get(video.videoId)! - 1;
      remaining.set(video.videoId, left);
      if (left === 0) finishVideo(video.videoId);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, work.length)) }, worker));
  return summary;
}

async function copyObject(
  object: PlannedObject,
  options: CopyOptions,
  onBytes: (bytes: number) => void,
): Promise<"copied" | "present"> {
  const existing = await options.target.stat(object.key);
  if (existing?.size === object.size) return "present";
  if (options.dryRun) return "copied";
  for (let attempt = 1; ; attempt++) {
    try {
      const file = Bun.file(options.source.localPath(object.key));
      // maxBytes = the planned size: a file that grew since planning fails rather than copying a moving target.
      const { bytes } = await options.target.putStream(object.key, counted(file.stream(), onBytes), {
        maxBytes: object.size,
      });
      const stored = await options.target.stat(object.key);
      if (bytes !== object.size || stored?.size !== object.size) {
        throw new Error(
          `size check failed: ${object.size} bytes on disk, ${bytes} sent, ${stored?.size ?? "no object"} in the target`,
        );
      }
      return "copied";
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      await Bun.sleep(250 * 2 ** attempt);
    }
  }
}

async function* counted(
  body: AsyncIterable<Uint8Array>,
  onBytes: (bytes: number) => void,
): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    onBytes(chunk.byteLength);
    yield chunk;
  }
}
