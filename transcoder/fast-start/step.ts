// The fast-start pass as a step of one job attempt (the pipeline's `fastStart` hook): decide, then run
// it in the attempt's own staging, publishing only while the attempt holds the job (the worker's checks).
import { fastStartPrefixFor } from "../../contract/media.ts";
import type { MediaStorage } from "../../storage/index.ts";
import type { TranscoderConfig } from "../config.ts";
import { MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import type { TranscodeLog } from "../log.ts";
import type { TranscodeOptions } from "../pipeline.ts";
import { decideFastStart } from "./decision.ts";
import { type FastStartPlayable, fastStartRung, runFastStartPass } from "./pass.ts";
import { listedSegments } from "./playlist.ts";

export interface FastStartStepContext {
  config: TranscoderConfig;
  storage: MediaStorage;
  hwaccel: HwAccelMode;
  gpuLadderSpeed: number | null;
  /** What the job payload says (the api's decision). */
  allowedByJob: boolean;
  videoId: number;
  revision: number;
  sourcePath: string;
  /** The attempt's staging label for the pass (attempt.ts, part `fast`). */
  stagingLabel: string;
  /** The staging folder made, so the sweeps leave it alone while the attempt runs. */
  onStaging: (dir: string) => void;
  beforePublish: () => Promise<void>;
  onPlayable: (playable: FastStartPlayable) => Promise<void>;
  signal: AbortSignal;
  log: TranscodeLog;
}

export function fastStartStep(context: FastStartStepContext): NonNullable<TranscodeOptions["fastStart"]> {
  const { config, storage, log } = context;
  return async ({ source, progress }) => {
    const prefix = fastStartPrefixFor(context.videoId, context.revision);
    const published = await storage.readText(`${prefix}/${fastStartRung(source).name}/${MEDIA_PLAYLIST}`);
    const decision = decideFastStart({
      unendedTree: published !== null && !listedSegments(published).ended,
      setting: config.fastStart,
      allowedByJob: context.allowedByJob,
      durationSeconds: source.durationSeconds,
      minSeconds: config.fastStartMinSeconds,
      hwaccel: context.hwaccel,
      gpuLadderSpeed: context.gpuLadderSpeed,
    });
    log.info(
      { fast_start: decision.run, reason: decision.reason },
      decision.run ? "fast-start pass first" : "no fast-start pass",
    );
    if (!decision.run) return false;
    const stagingDir = await storage.createStagingDir(context.stagingLabel);
    context.onStaging(stagingDir);
    await runFastStartPass({
      sourcePath: context.sourcePath,
      source,
      segmentSeconds: config.segmentSeconds,
      storage,
      prefix,
      stagingDir,
      hwaccel: context.hwaccel,
      encodeTimeout: config.encodeTimeout,
      signal: context.signal,
      log,
      onProgress: progress,
      beforePublish: context.beforePublish,
      onPlayable: context.onPlayable,
    });
    await storage.discardStaging(context.stagingLabel);
    return true;
  };
}
