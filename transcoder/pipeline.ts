// One source file in, one HLS tree out: probe → ladder → one FFmpeg for every rung → verify and write
// the master playlist → a progressive MP4 per rung (a stream copy) → poster and storyboard. Progress is
// reported over the whole job; the worker (or the CLI) owns where the output goes afterwards.
import { mkdir, mkdtemp, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Rendition, TranscodeResult } from "../contract/media.ts";
import type { PassProgress, TranscodeProgress } from "../contract/progress.ts";
import { StorageFullError } from "../storage/no-space.ts";
import { encodeLadderInChunks, videoSecondsOf } from "./chunks/ladder.ts";
import { type Chunk, planChunks, seeksExactly } from "./chunks/plan.ts";
import { verifyDecodes } from "./decode-check.ts";
import type { EncodeTimeoutSettings } from "./encode-deadline.ts";
import { failOnFfmpegError } from "./ffmpeg-failure.ts";
import { writeMasterPlaylist } from "./hls/master-playlist.ts";
import { addProgressiveMp4s } from "./hls/progressive-mp4.ts";
import { verifyRendition } from "./hls/rendition.ts";
import type { HwAccelMode } from "./hwaccel/modes.ts";
import { chooseLadder, type LadderOptions, type Rung } from "./ladder.ts";
import { silentLog, type TranscodeLog } from "./log.ts";
import { encodeLadderInOnePass } from "./one-pass.ts";
import { probeSource, type SourceFacts } from "./probe.ts";
import { estimateStage, overallPercent, type StageEstimate, type TickOrder, throttle } from "./progress.ts";
import { checkSourceLimits, DEFAULT_SOURCE_LIMITS, type SourceLimits } from "./source-limits.ts";
import { nearlyFull } from "./storage-space.ts";
import { makeThumbnails, STORYBOARD_TILE_WIDTH } from "./thumbnails/index.ts";

/**
 * A progress tick of the pipeline; the worker adds the video's id and revision. `order` is set on a
 * film's ticks computed from its flow hash: the reporter publishes by it, and it is never sent.
 */
export type PipelineProgress = Omit<TranscodeProgress, "videoId" | "revision"> & { order?: TickOrder };

export interface TranscodeOptions {
  sourcePath: string;
  /** An empty folder the HLS tree is written into (the caller publishes it). */
  outputDir: string;
  /** Short sides of the ladder's rungs (default 360, 480, 720, 1080). */
  ladderHeights?: readonly number[];
  /** Finer ladder settings (bits per pixel, audio bitrates…); `ladderHeights` wins over `ladder.heights`. */
  ladder?: LadderOptions;
  segmentSeconds?: number;
  /** x264 preset. */
  preset?: string;
  hwaccel?: HwAccelMode;
  onProgress?: (tick: PipelineProgress) => void;
  signal?: AbortSignal;
  log?: TranscodeLog;
  /** Make the poster and storyboard (default true). */
  thumbnails?: boolean;
  /** Encoding ticks per second at most (stage changes and the last tick always go out). */
  progressPerSecond?: number;
  /** Caps on what one source may ask for (duration, frames, pixel rate), checked on the probe. */
  limits?: SourceLimits;
  /** How long the ladder's FFmpeg may run, from the duration and its measured speed. */
  encodeTimeout?: EncodeTimeoutSettings;
  /**
   * The fast-start pass (the worker's: it publishes as it goes), run once the source is probed and
   * checked, before the ladder. Resolves whether a pass ran; `progress` reports its own percent and ETA.
   */
  fastStart?: (context: { source: SourceFacts; progress: (pass: PassProgress) => void }) => Promise<boolean>;
  /**
   * Cut a film at least `minSeconds` long into chunks of `segments` whole segments, encoded one after
   * another in this process and stitched (transcoder/chunks/): the farm's path, run on one host.
   */
  chunking?: {
    minSeconds: number;
    segments: number;
    scratchDir: string;
    /**
     * The chunks are the farm's (chunks/film-flow.ts): `start` hands them out before any fast-start
     * pass ("resumed": a run before did, and its pass too), `finish` waits for them or stitches them.
     */
    farm?: {
      /** `fastStart`: the run may encode a fast-start pass beside the pieces (its share is counted). */
      start(plan: FarmPlan & { fastStart?: boolean }): Promise<"planned" | "resumed">;
      finish(plan: FarmPlan): Promise<void>;
      /**
       * The fast-start pass's progress (or that none runs after all), told with the pieces' own: the
       * tick to send, which counts both passes. Without it the pass's ticks and the pieces' would
       * overwrite each other with two different percents.
       */
      fastStartProgress?(plan: FarmPlan, pass: PassProgress | "skipped"): Promise<PipelineProgress>;
      /**
       * What an earlier run of the job planned its flow with: this run stitches with that ladder,
       * segment length and those chunks, whatever its own options say.
       */
      recorded?: { ladder: Rung[]; segmentSeconds: number; chunks: Chunk[] } | null;
      /**
       * Asked once the film is long enough to cut and no flow is recorded: false keeps it one job on
       * this replica (CHUNKING=auto on an NVENC replica of a farm with CPU replicas: film-encoder.ts).
       */
      cutsFilm?(): Promise<boolean>;
    };
  };
  /** A rung's progressive MP4 failed and the rung is published without it. */
  onMp4RemuxFailed?: (rendition: string, reason: string) => void;
}

/** What the farm's chunked ladder is made from. */
export interface FarmPlan {
  source: SourceFacts;
  ladder: Rung[];
  chunks: Chunk[];
}

/** Each stage's slice of the job's 0–100 (publishing, 99–100, is the worker's). */
export const STAGE_PERCENT = {
  probing: [0, 2],
  "fast-start": [2, 2],
  encoding: [2, 90],
  verifying: [90, 92],
  remuxing: [92, 95],
  thumbnails: [95, 99],
} as const satisfies Record<string, readonly [number, number]>;
/** With a fast-start pass first: it takes about a sixth of the ladder's time on two cores. */
export const FAST_START_SLICES = { ...STAGE_PERCENT, "fast-start": [2, 15], encoding: [15, 90] } as const;

export async function transcode(options: TranscodeOptions): Promise<TranscodeResult> {
  const { sourcePath, outputDir, signal } = options;
  const log = options.log ?? silentLog;
  const recorded = options.chunking?.farm?.recorded ?? null;
  const segmentSeconds = recorded?.segmentSeconds ?? options.segmentSeconds ?? 6;
  const onProgress = options.onProgress ?? (() => {});
  let slices: Record<keyof typeof STAGE_PERCENT, readonly [number, number]> = STAGE_PERCENT;
  // With a fast-start pass, every tick also carries each pass's own percent and ETA.
  let passes: PipelineProgress["passes"];
  const emit = (tick: PipelineProgress) => onProgress(passes ? { ...tick, passes } : tick);
  const stage = (name: keyof typeof STAGE_PERCENT, percent = 0, extra: Partial<PipelineProgress> = {}) =>
    emit({ stage: name, percent: overallPercent(percent, slices[name]), etaSeconds: null, ...extra });

  // A run that resumes a film's flow says nothing until it has stitched: until then the pieces' ticks
  // are the job's progress (near its encoding slice's end), which a probing tick would set back to 0.
  const resuming = recorded !== null;
  if (!resuming) stage("probing");
  const source = await probeSource(sourcePath, { log, signal });
  // Before anything is decoded: a bomb is refused on what it declares.
  checkSourceLimits(
    { ...source, bytes: (await stat(sourcePath)).size },
    options.limits ?? DEFAULT_SOURCE_LIMITS,
  );
  // A resumed flow's source was decode-checked by the run that planned it, and is the same file (a
  // replaced one is a new revision, so a job of its own): its wakes skip the two decodes.
  if (!resuming) await verifyDecodes(sourcePath, source, { log, signal });
  const ladder =
    recorded?.ladder ??
    chooseLadder(source, { ...options.ladder, heights: options.ladderHeights ?? options.ladder?.heights });
  log.info({ source, ladder: ladder.map((rung) => rung.name) }, "source probed, ladder chosen");
  signal?.throwIfAborted();

  const planned =
    recorded?.chunks ??
    (options.chunking && seeksExactly(source.demuxer)
      ? planChunks(videoSecondsOf(source), { ...options.chunking, segmentSeconds })
      : null);
  // Decided here, on the film's probed length, so a short video never asks, and the answer is the
  // one its flow would be planned with (the same read of the farm: worker-pieces.ts).
  const cutsFilm = options.chunking?.farm?.cutsFilm;
  const keptWhole = planned !== null && recorded === null && cutsFilm !== undefined && !(await cutsFilm());
  if (keptWhole)
    log.info({ chunks: planned.length }, "film kept one job on this replica: its GPU beats the farm's x264");
  const chunks = keptWhole ? null : planned;
  const farm = chunks && options.chunking?.farm;
  const plan = chunks ? { source, ladder, chunks } : null;
  const resumed =
    farm && plan
      ? (await farm.start({ ...plan, fastStart: options.fastStart !== undefined })) === "resumed"
      : false;
  // The pass's ticks through the flow's hash when the farm encodes the ladder meanwhile.
  const fastStartOfFarm =
    farm && plan && farm.fastStartProgress ? farm.fastStartProgress.bind(farm, plan) : null;
  const unrecorded = (error: unknown) =>
    log.warn({ err: error }, "the fast-start pass's progress was not recorded");

  if (options.fastStart && !resumed) {
    const pending: PassProgress = { percent: 0, etaSeconds: null };
    // On the farm the ticks carry the passes the flow's hash tells (fastStartOfFarm), not this run's.
    if (!fastStartOfFarm) passes = { fastStart: pending, ladder: pending };
    slices = FAST_START_SLICES;
    const fastTicks = throttle(emit, options.progressPerSecond ?? 4);
    const ran = await options.fastStart({
      source,
      progress: (pass) => {
        if (fastStartOfFarm) {
          void fastStartOfFarm(pass).then((tick) => fastTicks.tick(tick, pass.percent >= 100), unrecorded);
          return;
        }
        passes = { fastStart: pass, ladder: pending };
        fastTicks.tick(
          {
            stage: "fast-start",
            percent: overallPercent(pass.percent, slices["fast-start"]),
            rung: "fast-start",
            speed: pass.speed,
            etaSeconds: pass.etaSeconds,
          },
          pass.percent >= 100,
        );
      },
    });
    if (ran) {
      if (!fastStartOfFarm) passes = { fastStart: { percent: 100, etaSeconds: 0 }, ladder: pending };
    } else {
      passes = undefined;
      slices = STAGE_PERCENT;
      // The pieces count the job without the pass from now on.
      await fastStartOfFarm?.("skipped").catch(unrecorded);
    }
    signal?.throwIfAborted();
  }

  // The farm's pieces tell the encoding's progress (chunks/film-tick.ts): a tick at its start here would
  // set the job back to it.
  if (!farm) stage("encoding", 0, { rung: "all" });
  await mkdir(outputDir, { recursive: true });
  const startedAt = performance.now();
  const ticks = throttle(emit, options.progressPerSecond ?? 4);
  const onEncoded = (estimate: StageEstimate, speed: number | null, done: boolean) => {
    if (passes) passes = { ...passes, ladder: { ...estimate, speed: speed ?? undefined } };
    const percent = overallPercent(estimate.percent, slices.encoding);
    const tick = { stage: "encoding" as const, percent, rung: "all", etaSeconds: estimate.etaSeconds };
    ticks.tick(speed === null ? tick : { ...tick, speed }, done);
  };
  const ladderInput = {
    sourcePath,
    outputDir,
    source,
    ladder,
    segmentSeconds,
    preset: options.preset,
    hwaccel: options.hwaccel ?? "none",
    signal,
    log,
    encodeTimeout: options.encodeTimeout,
  };
  if (farm) {
    await farm.finish({ source, ladder, chunks });
    // Stitched: the ladder is whole.
    stage("encoding", 100, { rung: "all" });
  } else if (chunks && options.chunking) {
    // This run's own folder under the scratch: a run never deletes the pieces of another that was
    // given the same scratch (the folder itself goes once the last run sharing it is done).
    const scratchRoot = options.chunking.scratchDir;
    await mkdir(scratchRoot, { recursive: true });
    const scratchDir = await mkdtemp(join(scratchRoot, "film-"));
    await encodeLadderInChunks({
      ...ladderInput,
      chunks,
      scratchDir,
      onProgress: (fraction, speed) => {
        const elapsed = (performance.now() - startedAt) / 1000;
        const progress = {
          outTimeSeconds: fraction * source.durationSeconds,
          speed: null,
          done: fraction >= 1,
        };
        onEncoded(estimateStage(progress, source.durationSeconds, elapsed), speed, fraction >= 1);
      },
    }).finally(async () => {
      await rm(scratchDir, { recursive: true, force: true });
      await rmdir(scratchRoot).catch(() => {});
    });
  } else {
    await encodeLadderInOnePass({
      ...ladderInput,
      onProgress: (progress) => {
        const elapsed = (performance.now() - startedAt) / 1000;
        onEncoded(estimateStage(progress, source.durationSeconds, elapsed), progress.speed, progress.done);
      },
    });
  }
  // FFmpeg may have said nothing (see storage-space.ts): the file system itself tells.
  if (await nearlyFull(outputDir)) {
    log.warn({ output_dir: outputDir }, "the output file system filled up during the encode");
    throw new StorageFullError();
  }
  log.info(
    { seconds: (performance.now() - startedAt) / 1000, chunks: chunks?.length ?? 0 },
    "ladder encoded",
  );

  stage("verifying");
  const renditions = [];
  for (const [index, rung] of ladder.entries()) {
    renditions.push(
      await verifyRendition(outputDir, rung, {
        audio: source.audio !== null,
        durationSeconds: source.durationSeconds,
        signal,
      }),
    );
    stage("verifying", ((index + 1) / ladder.length) * 100);
  }
  const masterPlaylist = await writeMasterPlaylist(outputDir, renditions);
  signal?.throwIfAborted();

  stage("remuxing");
  const remuxStartedAt = performance.now();
  const playable = await addProgressiveMp4s(outputDir, renditions, {
    audio: source.audio !== null,
    signal,
    onProgress: throttle((percent: number) => stage("remuxing", percent), 4).tick,
    log,
    onRemuxFailed: options.onMp4RemuxFailed,
  });
  log.info({ seconds: (performance.now() - remuxStartedAt) / 1000 }, "progressive MP4s remuxed");

  let posters: TranscodeResult["posters"] = [];
  let storyboard: TranscodeResult["storyboard"] = null;
  if (options.thumbnails !== false) {
    stage("thumbnails");
    const storyboardRendition = smallestMp4Rendition(playable);
    const thumbnails = await makeThumbnails({
      sourcePath,
      demuxer: source.demuxer,
      outputDir: join(outputDir, "thumbnails"),
      source: { durationSeconds: source.durationSeconds, width: source.width, height: source.height },
      signal,
      ...(storyboardRendition?.mp4
        ? { storyboardFrom: { path: join(outputDir, storyboardRendition.mp4.path), demuxer: "mov" } }
        : {}),
    });
    posters = thumbnails.posters;
    storyboard = thumbnails.storyboard;
  }
  stage("thumbnails", 100, { etaSeconds: 0 });
  return {
    durationSeconds: source.durationSeconds,
    renditions: playable,
    masterPlaylist,
    posters,
    storyboard,
  };
}

/**
 * The rung the storyboard samples: the narrowest with a progressive MP4 that is still as wide as a tile
 * (a plain file read with the MP4 demuxer; the HLS playlist would need the playlist demuxer). Null when
 * none has one (every remux failed): then the storyboard decodes the source.
 */
export function smallestMp4Rendition(renditions: readonly Rendition[]): Rendition | null {
  const candidates = renditions.filter(
    (rendition) => rendition.mp4 && rendition.width >= STORYBOARD_TILE_WIDTH,
  );
  return candidates.reduce<Rendition | null>(
    (smallest, rendition) => (smallest === null || rendition.width < smallest.width ? rendition : smallest),
    null,
  );
}

/** Re-exported where it always was: the fast-start pass and the tests import it from here. */
export { failOnFfmpegError };
