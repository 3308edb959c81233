import type { Job } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { TranscodeJob } from "../contract/transcode-jobs.ts";
import {
  ReclaimedMetrics,
  TRANSCODER_RECLAIMED_KINDS,
  type TranscoderReclaimedKind,
} from "../storage/reclaimed-metrics.ts";
import type { SourceReadFrom } from "./source-cache.ts";
import type { StagingSweep } from "./staging-sweeper.ts";
import type { JobOutcome } from "./worker.ts";

const OUTCOMES: JobOutcome[] = ["ready", "error", "failed", "handed_back", "lost"];
const SOURCE_READ_FROM: SourceReadFrom[] = ["cache", "storage"];

/** The worker's registry: process metrics included, every series labelled with the worker's name. */
export function workerRegistry(workerName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: workerName });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A transcoder's Prometheus metrics, fed by the worker's job hooks. Outcomes: `ready`, `error` (bad
 * input or a vanished source: not retried), `failed` (this host's fault: retried while attempts remain),
 * `handed_back` (SIGTERM's grace period ran out), `lost` (the lock lapsed and another attempt took over).
 */
export class TranscoderMetrics {
  private readonly jobs: Counter<"outcome">;
  private readonly jobSeconds: Histogram<"outcome">;
  private readonly realtimeFactor: Histogram;
  private readonly queueWait: Histogram;
  private readonly active: Gauge;
  private readonly mp4RemuxFailures: Counter;
  private readonly reclaimed: ReclaimedMetrics<TranscoderReclaimedKind>;
  private readonly sourceReads: Counter<"from">;
  private readonly sourceDownloadBytes: Counter;
  private readonly sourceCacheBytes: Gauge;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.jobs = new Counter({
      name: "transcode_jobs_total",
      help: "Transcode job attempts finished, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of OUTCOMES) this.jobs.inc({ outcome }, 0);
    this.jobSeconds = new Histogram({
      name: "transcode_duration_seconds",
      help: "Wall time of a job attempt, from claim to outcome",
      labelNames: ["outcome"],
      buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
      registers,
    });
    this.realtimeFactor = new Histogram({
      name: "transcode_realtime_factor",
      help: "Seconds of source transcoded per second of wall time (ready jobs; above 1 is faster than real time)",
      buckets: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.queueWait = new Histogram({
      name: "transcode_queue_wait_seconds",
      help: "Time a job waited in the queue before its first attempt started",
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600],
      registers,
    });
    this.active = new Gauge({
      name: "transcode_jobs_active",
      help: "Jobs this worker is running now",
      registers,
    });
    this.mp4RemuxFailures = new Counter({
      name: "transcode_mp4_remux_failures_total",
      help: "Rungs published without their progressive MP4: its remux or check failed (media:backfill-mp4 adds it later)",
      registers,
    });
    this.reclaimed = new ReclaimedMetrics(registry, TRANSCODER_RECLAIMED_KINDS);
    this.sourceReads = new Counter({
      name: "transcode_source_reads_total",
      help: "Sources a job or piece read, by where from: this replica's copy (cache) or the media storage",
      labelNames: ["from"],
      registers,
    });
    for (const from of SOURCE_READ_FROM) this.sourceReads.inc({ from }, 0);
    this.sourceDownloadBytes = new Counter({
      name: "transcode_source_download_bytes_total",
      help: "Bytes of sources downloaded from object storage",
      registers,
    });
    this.sourceCacheBytes = new Gauge({
      name: "transcode_source_cache_bytes",
      help: "Bytes of the source copies this replica keeps on its scratch disk",
      registers,
    });
  }

  readonly sourceRead = (from: SourceReadFrom, bytes: number): void => {
    this.sourceReads.inc({ from });
    if (bytes > 0) this.sourceDownloadBytes.inc(bytes);
  };

  readonly sourceCacheSize = (bytes: number): void => {
    this.sourceCacheBytes.set(bytes);
  };

  readonly mp4RemuxFailed = (): void => {
    this.mp4RemuxFailures.inc();
  };

  readonly stagingSwept = (sweep: StagingSweep): void => {
    for (const kind of TRANSCODER_RECLAIMED_KINDS) this.reclaimed.observe(kind, sweep[kind]);
  };

  readonly jobStarted = (job: Job<TranscodeJob>): void => {
    this.active.inc();
    // Only a job's first start: a retry's or a takeover's wait includes earlier attempts and back-off.
    if (job.attemptsStarted <= 1 && job.processedOn !== undefined) {
      this.queueWait.observe(Math.max(0, (job.processedOn - job.timestamp) / 1000));
    }
  };

  readonly jobFinished = (
    outcome: JobOutcome,
    _job: Job<TranscodeJob>,
    seconds: number,
    mediaSeconds?: number,
  ): void => {
    this.active.dec();
    this.jobs.inc({ outcome });
    this.jobSeconds.observe({ outcome }, seconds);
    if (outcome === "ready" && mediaSeconds !== undefined && mediaSeconds > 0 && seconds > 0) {
      this.realtimeFactor.observe(mediaSeconds / seconds);
    }
  };
}
