import type { JobType } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Reclaimed } from "../../storage/index.ts";
import {
  API_RECLAIMED_KINDS,
  type ApiReclaimedKind,
  ReclaimedMetrics,
} from "../../storage/reclaimed-metrics.ts";

/** Path of the scrape endpoint; its own requests are neither counted nor logged when they succeed. */
export const METRICS_PATH = "/metrics";

/** The transcode queue's states exported as `transcode_queue_jobs{state}`. */
export const QUEUE_STATES = [
  "waiting",
  "active",
  "delayed",
  "failed",
  "completed",
] as const satisfies JobType[];

const QUEUE_COUNT_TIMEOUT_MS = 2000;
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Close codes worth telling apart (see realtime/model.ts); any other code counts as `other`. */
const CLOSE_REASONS: Record<number, string> = {
  1000: "normal",
  1001: "going_away",
  1005: "normal",
  1006: "abnormal",
  1009: "message_too_big",
  4001: "session_expired",
  4003: "session_revoked",
  4008: "too_slow",
};

/**
 * What one (route, method) pair has seen: its histogram child (labels hashed once) and plain counts by
 * status, handed to the counter at scrape time (prom-client's `inc` costs about 50 times a `Map.set`).
 */
interface RouteSeries {
  duration: Histogram.Internal<"method" | "route">;
  byStatus: Map<number, number>;
}

/** A registry of its own for one process, with Node's default process metrics (CPU, memory, GC, lag). */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The api's Prometheus metrics, all in the one registry it is given (tests run several apps in one
 * process, so nothing goes into prom-client's global registry). Routes are labelled by their template
 * (`/api/video/:id/:res/:file`), never by the raw path, and requests that matched no route share
 * `route="unmatched"`, so a scanner cannot blow up the number of series.
 */
export class ApiMetrics {
  private readonly requestSeconds: Histogram<"method" | "route">;
  private readonly series = new Map<string, Map<string, RouteSeries>>();
  private readonly webSocketsClosed: Counter<"reason">;
  private readonly heartbeats: Counter;
  private readonly flushRows: Histogram;
  private readonly flushSeconds: Histogram;
  private readonly reclaimed: ReclaimedMetrics<ApiReclaimedKind>;
  private webSocketSource: { readonly size: number } | undefined;
  private queueSource: QueueCounts | undefined;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    const metrics = this;
    new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
      registers,
      collect() {
        this.reset();
        for (const [route, byMethod] of metrics.series)
          for (const [method, entry] of byMethod)
            for (const [status, count] of entry.byStatus)
              this.inc({ method, route, status: String(status) }, count);
      },
    });
    this.requestSeconds = new Histogram({
      name: "http_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by method and route template",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: "websocket_connections",
      help: "Open WebSocket connections on this replica",
      registers,
      collect() {
        this.set(metrics.webSocketSource?.size ?? 0);
      },
    });
    this.webSocketsClosed = new Counter({
      name: "websocket_disconnections_total",
      help: "WebSocket connections closed, by reason (too_slow: dropped for not reading its messages)",
      labelNames: ["reason"],
      registers,
    });
    this.heartbeats = new Counter({
      name: "progress_heartbeats_total",
      help: "Player heartbeats accepted (HTTP and WebSocket), before coalescing",
      registers,
    });
    this.flushRows = new Histogram({
      name: "progress_flush_rows",
      help: "User-video rows written to PostgreSQL per watch-progress flush (flushes that had any)",
      buckets: [1, 10, 100, 1000, 5000, 10_000, 50_000, 100_000],
      registers,
    });
    this.flushSeconds = new Histogram({
      name: "progress_flush_duration_seconds",
      help: "Time a watch-progress flush took (flushes that had any rows)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reclaimed = new ReclaimedMetrics(registry, API_RECLAIMED_KINDS);
    new Gauge({
      name: "transcode_queue_jobs",
      help: "Jobs in the transcode queue by state (read from Redis at most every few seconds)",
      labelNames: ["state"],
      registers,
      async collect() {
        const counts = await metrics.queueSource?.read();
        this.reset(); // no series rather than stale ones while Redis does not answer
        if (!counts) return;
        for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  /** One answered request; `route` is the matched template (none: the request matched no route). */
  readonly observeRequest = (
    method: string,
    route: string | undefined | null,
    status: number,
    seconds: number,
  ): void => {
    if (route === METRICS_PATH) return;
    const template = route || "unmatched";
    const verb = KNOWN_METHODS.has(method) ? method : "other";
    let byMethod = this.series.get(template);
    if (!byMethod) {
      byMethod = new Map();
      this.series.set(template, byMethod);
    }
    let entry = byMethod.get(verb);
    if (!entry) {
      entry = { duration: this.requestSeconds.labels(verb, template), byStatus: new Map() };
      byMethod.set(verb, entry);
    }
    entry.byStatus.set(status, (entry.byStatus.get(status) ?? 0) + 1);
    entry.duration.observe(seconds);
  };

  /** The replica's open sockets are read from `source.size` at every scrape. */
  watchWebSockets(source: { readonly size: number }): void {
    this.webSocketSource = source;
  }

  readonly webSocketClosed = (code: number): void => {
    this.webSocketsClosed.inc({ reason: CLOSE_REASONS[code] ?? "other" });
  };

  readonly heartbeatRecorded = (heartbeats = 1): void => {
    this.heartbeats.inc(heartbeats);
  };

  /** One flush of watch progress: how many entries it took out of Redis, and how long it ran. */
  readonly observeFlush = (stats: { entries: number; durationMs: number }): void => {
    this.flushRows.observe(stats.entries);
    this.flushSeconds.observe(stats.durationMs / 1000);
  };

  /** What one sweep removed of one kind. */
  readonly observeReclaimed = (kind: ApiReclaimedKind, reclaimed: Reclaimed): void => {
    this.reclaimed.observe(kind, reclaimed);
  };

  /** Exports the queue's job counts, read at most once per `cacheMs` however often it is scraped. */
  watchTranscodeQueue(
    queue: { getJobCounts(...types: JobType[]): Promise<Record<string, number>> },
    cacheMs = 5000,
  ): void {
    this.queueSource = new QueueCounts(queue, cacheMs);
  }
}

/**
 * Job counts with a short cache and at most one Redis read at a time. A scrape waits for that read
 * at most 2 s (BullMQ's connection retries forever while Redis is away) and gets undefined then.
 */
class QueueCounts {
  private cached: { at: number; counts: Record<string, number> | undefined } | undefined;
  private reading: Promise<Record<string, number> | undefined> | undefined;

  constructor(
    private readonly queue: { getJobCounts(...types: JobType[]): Promise<Record<string, number>> },
    private readonly cacheMs: number,
  ) {}

  async read(): Promise<Record<string, number> | undefined> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.counts;
    this.reading ??= this.queue.getJobCounts(...QUEUE_STATES).then(
      (counts) => this.settle(counts),
      () => this.settle(undefined),
    );
    let timer: Timer | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, QUEUE_COUNT_TIMEOUT_MS, undefined);
    });
    try {
      return await Promise.race([this.reading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private settle(counts: Record<string, number> | undefined) {
    this.cached = { at: Date.now(), counts };
    this.reading = undefined;
    return counts;
  }
}
