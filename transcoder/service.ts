// One transcoder of the farm, wired and started: the hardware self-test, the media storage, the Redis
// connections, the BullMQ worker, the staging sweeper and the metrics server, with the shutdown SIGTERM
// asks for. main.ts reads the config and the signals around it; tests start the same thing in process.
import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import { ConnectionErrorLog } from "../connections/error-log.ts";
import { openRedis } from "../connections/redis.ts";
import { openMediaStorage } from "../storage/index.ts";
import { PeriodicSweep } from "../storage/periodic-sweep.ts";
import { agePieces } from "./chunks/piece-aging.ts";
import type { TranscoderConfig } from "./config.ts";
import { GPU_SKIP_SPEED } from "./fast-start/decision.ts";
import { measureLadderSpeed } from "./fast-start/ladder-speed.ts";
import { Heartbeat } from "./heartbeat.ts";
import { resolveHwAccel } from "./hwaccel/index.ts";
import type { HwAccelMode } from "./hwaccel/modes.ts";
import { TranscoderMetrics, workerRegistry } from "./metrics.ts";
import { startMetricsServer } from "./metrics-server.ts";
import { StagingSweeper } from "./staging-sweeper.ts";
import { startTranscodeWorker, type TranscodeWorker } from "./worker.ts";

export interface TranscoderService {
  farm: TranscodeWorker;
  metrics: TranscoderMetrics;
  /** The acceleration that passed the start-up self-test. */
  hwaccel: HwAccelMode;
  /** Where /metrics and /health answer, or null when no metrics server runs (port 0 or taken). */
  metricsPort: number | null;
  /**
   * Stops taking jobs, gives the running ones the shutdown grace period, hands back what is still
   * running, then closes the server and the connections. Asked again, it returns the same shutdown.
   */
  stop(reason: string): Promise<void>;
}

/** How often a replica looks for films whose pieces waited too long (one replica per round does it). */
const PIECE_AGING_INTERVAL_MS = 10_000;
const PIECE_AGING = "film pieces' ageing";

export async function startTranscoderService(
  config: TranscoderConfig,
  log: Logger,
): Promise<TranscoderService> {
  const hwaccel = await resolveHwAccel(config.hwaccel, log);
  // FAST_START=auto on a GPU: is the ladder itself faster than real time here? Measured once, now.
  let gpuLadderSpeed: number | null = null;
  if (hwaccel !== "none" && config.fastStart === "auto") {
    gpuLadderSpeed = await measureLadderSpeed({ ...config, hwaccel });
    log.info(
      { hwaccel, ladder_speed: gpuLadderSpeed, skip_at: GPU_SKIP_SPEED },
      gpuLadderSpeed !== null && gpuLadderSpeed >= GPU_SKIP_SPEED
        ? "FAST_START=auto: the GPU ladder is faster than real time, no fast-start pass"
        : "FAST_START=auto: the ladder is not fast enough here, long sources get a fast-start pass",
    );
  }
  // The scratch directory is this worker's own: whatever a previous run of it left goes now.
  if (config.storage.kind === "s3") await rm(config.scratchDir, { recursive: true, force: true });
  const storage = openMediaStorage(config.storage, config.scratchDir);

  // Connection errors as throttled JSON lines. BullMQ's blocking commands need a connection that never
  // gives up; progress ticks and keys ride out a blip (connections/redis.ts).
  const connectionErrors = new ConnectionErrorLog(log.child({ component: "connections" }));
  const connection = openRedis(config.redisUrl, "queue", connectionErrors);
  const redis = openRedis(config.redisUrl, "background", connectionErrors);
  const metrics = new TranscoderMetrics(workerRegistry(config.workerName));
  // The farm view's liveness (contract/transcoder-heartbeats.ts), beaten again when an attempt starts or ends.
  const heartbeat = new Heartbeat({
    redis,
    name: config.workerName,
    hwaccel,
    concurrency: config.concurrency,
    jobs: () => farm.runningJobs(),
    log,
  });
  const farm = startTranscodeWorker({
    config,
    connection,
    redis,
    storage,
    log,
    hwaccel,
    gpuLadderSpeed,
    connectionErrors,
    onJobStarted: metrics.jobStarted,
    onJobFinished: metrics.jobFinished,
    onRunningChanged: () => void heartbeat.beat(),
    onMp4RemuxFailed: metrics.mp4RemuxFailed,
    onSourceRead: metrics.sourceRead,
    onSourceCacheSize: metrics.sourceCacheSize,
  });
  // Staging of attempts that are no longer live (any transcoder's on a shared volume, this one's in its
  // scratch) and folders nothing wrote to for long: once now, then every STORAGE_SWEEP_INTERVAL_SECONDS.
  const sweeper = new StagingSweeper({
    storage,
    redis,
    lockKeyOf: (jobId) => `${farm.worker.toKey(jobId)}:lock`,
    isRunning: farm.isRunningStaging,
    quietMs: config.stalledIntervalSeconds * 1000,
    maxIdleMs: config.storage.stagingMaxIdleSeconds * 1000,
    log,
    onReclaimed: metrics.stagingSwept,
    flowQueue: farm.flowQueue,
  });
  // Films whose pieces waited too long behind other videos keep one piece in line with them.
  const aging = new PeriodicSweep(
    () =>
      agePieces({
        queue: farm.flowQueue,
        redis,
        maxWaitMs: config.filmPiecesMaxWaitSeconds * 1000,
        // Shorter than the interval: the holder's own next round finds the lock gone.
        lockMs: (PIECE_AGING_INTERVAL_MS * 8) / 10,
        holder: config.workerName,
      }).then((promoted) => {
        connectionErrors.recovered(PIECE_AGING);
        if (promoted.length > 0)
          log.info({ pieces: promoted }, "film pieces waited too long: one joins the line of the video jobs");
      }),
    // Nearly always Redis away: throttled like the connections' own errors, not a line every round.
    (error) => connectionErrors.report(PIECE_AGING, error),
  );
  void aging.now().catch((error) => connectionErrors.report(PIECE_AGING, error));
  aging.start(PIECE_AGING_INTERVAL_MS);
  heartbeat.start();
  void sweeper.sweep().catch((error) => log.error({ err: error }, "staging sweep failed"));
  sweeper.start(config.storage.sweepIntervalSeconds * 1000);
  log.info(
    { hwaccel, concurrency: config.concurrency, ladder: config.ladderHeights, fast_start: config.fastStart },
    "transcoder waiting for jobs",
  );

  let stopping: Promise<void> | null = null;
  const metricsServer = startMetricsServer({
    port: config.metricsPort,
    hostname: config.metricsHost,
    registry: metrics.registry,
    log,
    health: () => {
      const running = !stopping && farm.worker.isRunning();
      return {
        healthy: running,
        body: { status: stopping ? "stopping" : running ? "ok" : "starting", worker: config.workerName },
      };
    },
  });
  const shutdown = async (reason: string) => {
    log.info({ signal: reason, grace_seconds: config.shutdownGraceSeconds }, "shutting down: no new jobs");
    await sweeper.stop();
    await aging.stop();
    await farm.close(config.shutdownGraceSeconds * 1000);
    await heartbeat.stop();
    await metricsServer?.stop(true);
    connection.disconnect();
    redis.disconnect();
    log.info("stopped");
  };
  return {
    farm,
    metrics,
    hwaccel,
    metricsPort: metricsServer?.port ?? null,
    stop(reason) {
      stopping ??= shutdown(reason);
      return stopping;
    },
  };
}
