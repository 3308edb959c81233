// Opens the api's infrastructure from its configuration (database + migrations, Redis, the event bus,
// queues, storage, mailer), builds the services once, and runs the transcode-report consumer and
// reconciliation. main.ts, the tests and the benchmarks all
// start the api through here, so they run the same thing.
import { Queue, type Worker } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { ConnectionErrorLog } from "../connections/error-log.ts";
import { openRedis, redisReady } from "../connections/redis.ts";
import { transcodeReports } from "../contract/transcode-reports.ts";
import { type DatabaseHandle, openDatabase } from "../db/client.ts";
import { createMailer, type Mailer } from "../emails/mailer.ts";
import { type MediaStorage, openMediaStorage } from "../storage/index.ts";
import { type App, createApp } from "./app.ts";
import { ensureAdmin } from "./auth/ensure-admin.ts";
import type { Config } from "./config/load.ts";
import { ApiMetrics, processRegistry } from "./metrics/service.ts";
import { ProgressFlusher } from "./progress/flusher.ts";
import { buildServices, type Services } from "./services.ts";
import { BackgroundTasks } from "./shared/background-tasks.ts";
import { type Clock, systemClock } from "./shared/clock.ts";
import { retryWhileAway } from "./shared/dependency-wait.ts";
import { EventBus } from "./shared/event-bus.ts";
import { reconcileVideos } from "./videos/reconcile.ts";
import { StorageSweeper, type SweepOutcome } from "./videos/storage-sweeper.ts";
import { TranscodeQueue } from "./videos/transcode-queue.ts";
import { startTranscodeReportConsumer } from "./videos/transcode-reports.ts";

export interface ApiRuntime {
  app: App;
  config: Config;
  database: DatabaseHandle;
  redis: Redis;
  storage: MediaStorage;
  transcodeQueue: TranscodeQueue;
  bus: EventBus;
  services: Services;
  reconcile(): Promise<{ requeued: number; settled: number }>;
  /** One storage sweep now: abandoned upload staging, and with object storage retired and orphan trees. */
  sweepStorage(): Promise<SweepOutcome>;
  /** Graceful stop: no new requests, in-flight work and mails finished, connections closed. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  mailer?: Mailer;
  clock?: Clock;
  /** Consume transcode reports and reconcile periodically (off for tests that must not race another api). */
  consumeEvents?: boolean;
  /** How often cached token verdicts and open sockets are checked for a revocation again (default 60 s). */
  revocationRecheckMs?: number;
}

export async function startApiRuntime(options: RuntimeOptions): Promise<ApiRuntime> {
  const { config, log } = options;
  // Connection errors of every client and queue: one JSON line per source per interval (never stderr).
  const connectionErrors = new ConnectionErrorLog(log.child({ component: "connections" }));
  const database = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
  });
  // Started while PostgreSQL is away: wait for it (logged) rather than exit.
  await retryWhileAway("database at start-up", () => database.migrate(), connectionErrors);
  log.info({ database: database.kind }, "migrations applied");
  const admin = config.admin;
  if (admin) {
    const outcome = await retryWhileAway(
      "database at start-up",
      () => ensureAdmin(database.db, admin),
      connectionErrors,
    );
    log.info({ email: admin.email, outcome }, "admin account ensured");
  }

  // Request paths, announcements and the queues' producers fail fast while Redis is away (503); the
  // progress flusher waits out a blip; the report consumer's blocking reads and the subscriber wait
  // for Redis however long it takes. All of them reconnect forever (connections/redis.ts).
  const redis = openRedis(config.redisUrl, "request", connectionErrors);
  const backgroundRedis = openRedis(config.redisUrl, "background", connectionErrors);
  const bullConnection = openRedis(config.redisUrl, "queue", connectionErrors);
  // Subscriber mode takes a connection over, so the replica has one for all its pub/sub: the WebSocket
  // fan-out, and the catalogue and playback caches that drop entries on video state changes.
  const subscriber = openRedis(config.redisUrl, "subscriber", connectionErrors);
  // Announcements are awaited by the requests that make them (so the next read sees them): they fail
  // fast too, and a replica whose subscriber was cut off forgets its caches when it reconnects.
  // Revocations retry on the patient connection when the fast one fails (RevocationEpochs.announce).
  const bus = new EventBus({
    subscriber,
    publisher: redis,
    patientPublisher: backgroundRedis,
    connectionErrors,
    log: log.child({ component: "event-bus" }),
  });
  const storage = openMediaStorage(config.storage);
  // Without an offline queue the request connection refuses commands until it is ready: nothing uses
  // it before then.
  await redisReady(redis);
  // The queues' own commands (enqueue from an upload, the dashboard, job counts) fail fast like any
  // request's; only the consumer's blocking reads need the patient connection.
  const transcodeQueue = new TranscodeQueue(redis, {
    attempts: config.transcodeAttempts,
    backoffSeconds: config.transcodeBackoffSeconds,
  });
  const reportsQueue = new Queue(transcodeReports.name, { connection: redis });
  connectionErrors.watch(transcodeQueue.queue, `queue ${transcodeQueue.queue.name}`);
  connectionErrors.watch(reportsQueue, `queue ${reportsQueue.name}`);
  const mailer =
    options.mailer ??
    createMailer({
      smtpUrl: config.smtpUrl ?? undefined,
      from: config.mailFrom,
      mailDir: config.mailDir,
      log,
    });
  const background = new BackgroundTasks(log);
  // One registry per process, shared by the app's routes and the flusher below.
  const metrics = new ApiMetrics(processRegistry());
  const services = buildServices({
    config,
    log,
    database,
    redis,
    patientRedis: backgroundRedis,
    connectionErrors,
    revocationRecheckMs: options.revocationRecheckMs,
    bus,
    mailer,
    storage,
    transcodeQueue,
    dashboardQueues: [transcodeQueue.queue, reportsQueue],
    background,
    clock: options.clock ?? systemClock,
    metrics,
  });
  // Every handler is registered: wait for the subscriptions, so nothing announced from now on is missed.
  await bus.ready();
  const app = await createApp({ config, log, services });

  // Watch-progress heartbeats wait in Redis; every replica flushes (safely at the same time).
  const progressFlusher = new ProgressFlusher({
    db: database.db,
    redis: backgroundRedis,
    log,
    intervalSeconds: config.progressFlushIntervalSeconds,
    onFlush: metrics.observeFlush,
  });
  progressFlusher.start();

  const { lifecycle, realtime } = services;
  const reconcile = () => reconcileVideos({ db: database.db, queue: transcodeQueue, lifecycle, log });
  let consumer: Worker | null = null;
  let reconcileTimer: Timer | null = null;
  if (options.consumeEvents ?? true) {
    consumer = startTranscodeReportConsumer({ connection: bullConnection, lifecycle, log });
    connectionErrors.watch(consumer, `worker ${consumer.name}`);
    await reconcile().catch((error) => log.error({ err: error }, "reconcile failed"));
    reconcileTimer = setInterval(
      () => void reconcile().catch((error) => log.error({ err: error }, "reconcile failed")),
      config.reconcileIntervalSeconds * 1000,
    );
  }
  // Abandoned upload staging; with object storage also replaced revisions after their grace period,
  // and trees nothing points at.
  const sweeper = new StorageSweeper({
    db: database.db,
    storage,
    clock: options.clock ?? systemClock,
    log,
    treeGraceSeconds: config.storage.kind === "s3" ? config.storage.retiredGraceSeconds : null,
    stagingMaxIdleSeconds: config.storage.stagingMaxIdleSeconds,
    onReclaimed: metrics.observeReclaimed,
    expiredUploads: services.sweepExpiredUploads,
    claimedSources: () => services.uploadStore.assembledSources(),
  });
  if (options.consumeEvents ?? true) sweeper.start(config.storage.sweepIntervalSeconds);

  return {
    app,
    config,
    database,
    redis,
    storage,
    transcodeQueue,
    bus,
    services,
    reconcile,
    sweepStorage: () => sweeper.sweep(),
    async stop() {
      if (reconcileTimer) clearInterval(reconcileTimer);
      // A sweep in progress finishes first: it uses the storage and the database closed below.
      await sweeper.stop();
      await realtime.closeAll(); // Bun's server.stop waits for open WebSockets
      await app.stop();
      // No heartbeat arrives any more: write what is pending while Redis and the database are open.
      await progressFlusher.stop();
      await consumer?.close();
      await background.drain();
      await services.revocations.stop(); // retries of announcements that never went through
      await mailer.close();
      await transcodeQueue.close();
      await reportsQueue.close();
      redis.disconnect();
      backgroundRedis.disconnect();
      bullConnection.disconnect();
      subscriber.disconnect();
      await database.close();
    },
  };
}
