// The fast-start pass: one quick low rung, published segment by segment while FFmpeg writes it
// (publisher.ts), so that a long video can be watched seconds after its upload while the ladder is made.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Rendition } from "../../contract/media.ts";
import type { PassProgress } from "../../contract/progress.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { DEFAULT_ENCODE_TIMEOUT, EncodeDeadline, type EncodeTimeoutSettings } from "../encode-deadline.ts";
import { buildFastStartCommand, MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import { failOnFfmpegError } from "../ffmpeg-failure.ts";
import { cancelled, runProcess } from "../ffmpeg-process.ts";
import { inspectSegment } from "../hls/codecs.ts";
import { buildMasterPlaylist, MASTER_PLAYLIST } from "../hls/master-playlist.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import { chooseLadder, type LadderOptions, type Rung } from "../ladder.ts";
import { silentLog, type TranscodeLog } from "../log.ts";
import type { SourceFacts } from "../probe.ts";
import { estimateStage, ProgressParser } from "../progress.ts";
import { FastStartPublisher } from "./publisher.ts";

/** The fast-start rung's short side: low enough to be cheap, never above the source (chooseLadder). */
export const FAST_START_HEIGHT = 360;
/** How often FFmpeg's output is looked at for finished segments, besides its progress blocks. */
const SYNC_INTERVAL_MS = 250;
/**
 * Segments listed before the master is put and the video reported playable. Two, not one: a player
 * that starts on a single 6 s segment learns of the next one only at its first playlist reload, a target
 * duration later, just as the first runs out (bench:playable's 1× player stalled 0.1 s there at 4.95×
 * real time); with two listed, that reload has a whole segment of margin. The pass makes a segment in
 * about a fifth of its duration, so this costs a second or two of the time to first playable.
 */
export const PLAYABLE_AFTER_SEGMENTS = 2;

export interface FastStartPlayable {
  rendition: Rendition;
  masterPlaylist: string;
  durationSeconds: number;
}

export interface FastStartPassOptions {
  sourcePath: string;
  source: SourceFacts;
  segmentSeconds: number;
  storage: MediaStorage;
  /** The fast-start prefix of the revision. */
  prefix: string;
  /** A folder of this attempt's staging (FFmpeg's output and the playlists before they are put). */
  stagingDir: string;
  ladder?: LadderOptions;
  hwaccel?: HwAccelMode;
  /** How long its FFmpeg may run (the ladder's settings: this pass is faster still). */
  encodeTimeout?: EncodeTimeoutSettings;
  /** Throws when this attempt may no longer publish: called before anything is put. */
  beforePublish: () => Promise<void>;
  /** The master playlist and a first segment are published: tell the api (once per attempt). */
  onPlayable: (playable: FastStartPlayable) => Promise<void>;
  onProgress?: (progress: PassProgress) => void;
  signal?: AbortSignal;
  log?: TranscodeLog;
}

export interface FastStartOutcome {
  rung: string;
  segments: number;
  /** Multiple of real time of this attempt's encode (null when an earlier attempt had finished it). */
  speed: number | null;
  seconds: number;
  /** Segments an earlier attempt had published already. */
  resumed: number;
}

/** The one rung of the fast-start tree for this source. */
export function fastStartRung(source: SourceFacts, ladder: LadderOptions = {}): Rung {
  const [rung] = chooseLadder(source, { ...ladder, heights: [FAST_START_HEIGHT] });
  return rung!;
}

export async function runFastStartPass(options: FastStartPassOptions): Promise<FastStartOutcome> {
  const { source, signal, storage, prefix } = options;
  const log = options.log ?? silentLog;
  const rung = fastStartRung(source, options.ladder);
  const ffmpegDir = join(options.stagingDir, "encode");
  await mkdir(ffmpegDir, { recursive: true });
  const publisher = new FastStartPublisher({
    storage,
    prefix,
    rung: rung.name,
    ffmpegDir,
    workDir: options.stagingDir,
    targetSeconds: options.segmentSeconds,
    beforePublish: options.beforePublish,
  });
  await publisher.resume();
  const resumed = publisher.segments.length;
  const startedAt = performance.now();
  if (publisher.complete) {
    // An earlier attempt finished the pass (and crashed before or after saying so): say it again.
    const master = await storage.readText(`${prefix}/${MASTER_PLAYLIST}`);
    const rendition = master ? renditionOfMaster(master, rung) : null;
    if (rendition) {
      await options.onPlayable({
        rendition,
        masterPlaylist: MASTER_PLAYLIST,
        durationSeconds: source.durationSeconds,
      });
      log.info({ segments: resumed }, "fast-start pass already published by an earlier attempt");
      options.onProgress?.({ percent: 100, etaSeconds: 0 });
      return { rung: rung.name, segments: resumed, speed: null, seconds: 0, resumed };
    }
  }

  const first = join(ffmpegDir, rung.name, "seg_00000.ts");
  const announceNow = async () => {
    const rendition = await renditionOfSegment(first, rung, source, signal);
    const path = join(options.stagingDir, MASTER_PLAYLIST);
    await writeFile(path, buildMasterPlaylist([rendition]));
    await options.beforePublish();
    // After the media playlist it names: a player that reads the master finds the rung's playlist.
    await storage.putFile(path, `${prefix}/${MASTER_PLAYLIST}`);
    await options.onPlayable({
      rendition,
      masterPlaylist: MASTER_PLAYLIST,
      durationSeconds: source.durationSeconds,
    });
    log.info({ seconds: (performance.now() - startedAt) / 1000, resumed }, "fast-start rendition playable");
  };
  // Once PLAYABLE_AFTER_SEGMENTS are published (at the end, however few) and this encode's first segment
  // (its CODECS) is there; once only.
  let announcing: Promise<void> | null = null;
  const announce = async (final: boolean) => {
    const enough = publisher.segments.length >= (final ? 1 : PLAYABLE_AFTER_SEGMENTS);
    if (announcing === null && enough && (await Bun.file(first).exists())) {
      announcing ??= announceNow();
    }
    await announcing;
  };
  // Syncing is started from timers and progress blocks; its first failure stops FFmpeg and is rethrown.
  let failure: unknown = null;
  const controller = new AbortController();
  const stopOn = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  // Every sync started is awaited before the pass returns or throws: nothing of this attempt is put
  // after it ended (a takeover in this same process starts only then).
  const inFlight = new Set<Promise<void>>();
  const syncSoon = () => {
    if (failure !== null) return;
    const syncing = publisher
      .sync()
      .then(() => announce(false))
      .catch((error) => {
        failure ??= error;
        controller.abort(error);
      })
      .finally(() => inFlight.delete(syncing));
    inFlight.add(syncing);
  };

  const argv = buildFastStartCommand({
    sourcePath: options.sourcePath,
    outputDir: ffmpegDir,
    source,
    rung,
    segmentSeconds: options.segmentSeconds,
    hwaccel: options.hwaccel,
  });
  log.debug({ argv }, "starting the fast-start FFmpeg");
  const deadline = new EncodeDeadline(
    options.encodeTimeout ?? DEFAULT_ENCODE_TIMEOUT,
    source.durationSeconds,
    Date.now(),
  );
  const parser = new ProgressParser((progress) => {
    deadline.observe(progress, Date.now());
    const estimate = estimateStage(progress, source.durationSeconds, (performance.now() - startedAt) / 1000);
    options.onProgress?.({ ...estimate, speed: progress.speed ?? undefined });
    syncSoon();
  });
  const timer = setInterval(syncSoon, SYNC_INTERVAL_MS);
  const result = await runProcess(argv, {
    signal: stopOn,
    watchdog: deadline,
    onStdout: (chunk) => parser.push(chunk),
  }).finally(() => clearInterval(timer));
  while (inFlight.size > 0) await Promise.all(inFlight);
  if (failure !== null) throw failure;
  if (result.aborted) throw cancelled(signal);
  if (result.timedOut && deadline.reason) throw new Error(`fast-start pass: ${deadline.reason}`);
  failOnFfmpegError(result, parser.latest.outTimeSeconds, source, log);
  const segments = await publisher.sync(true);
  await announce(true);
  const seconds = (performance.now() - startedAt) / 1000;
  const speed = seconds > 0 ? source.durationSeconds / seconds : null;
  options.onProgress?.({ percent: 100, etaSeconds: 0, speed: speed ?? undefined });
  log.info({ seconds, speed, segments, resumed, rung: rung.name }, "fast-start pass published");
  return { rung: rung.name, segments, speed, seconds, resumed };
}

/** The rendition as the master lists it: the bitstream's own CODECS, VBV peaks as BANDWIDTH. */
async function renditionOfSegment(
  path: string,
  rung: Rung,
  source: SourceFacts,
  signal?: AbortSignal,
): Promise<Rendition> {
  const stream = await inspectSegment(path, signal);
  const audio = source.audio ? rung.audioBitrate : 0;
  return {
    name: rung.name,
    width: stream.width,
    height: stream.height,
    // Segments are not all made yet: the encoder's VBV ceiling bounds what any of them will cost.
    bandwidth: rung.maxrate + audio,
    averageBandwidth: rung.videoBitrate + audio,
    codecs: [stream.videoCodecs, stream.audio?.codecs].filter(Boolean).join(","),
    frameRate: Math.round(rung.frameRate * 1000) / 1000,
  };
}

/** The rendition an earlier attempt's master playlist lists, or null if it is not this rung's. */
function renditionOfMaster(text: string, rung: Rung): Rendition | null {
  const attribute = (name: string) => new RegExp(`[:,]${name}=("[^"]*"|[^,\\n]*)`).exec(text)?.[1];
  const uri = text.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"));
  const resolution = /^(\d+)x(\d+)$/.exec(attribute("RESOLUTION") ?? "");
  const bandwidth = Number(attribute("BANDWIDTH"));
  if (uri?.trim() !== `${rung.name}/${MEDIA_PLAYLIST}` || !resolution || !Number.isInteger(bandwidth))
    return null;
  return {
    name: rung.name,
    width: Number(resolution[1]),
    height: Number(resolution[2]),
    bandwidth,
    averageBandwidth: Number(attribute("AVERAGE-BANDWIDTH") ?? bandwidth),
    codecs: (attribute("CODECS") ?? "").replace(/"/g, ""),
    frameRate: Number(attribute("FRAME-RATE") ?? rung.frameRate),
  };
}
