// Wires the api's parts from its configuration: database (+ migrations), Redis, queues, storage,
// mailer, the state-event consumer and reconciliation. main.ts, the tests and the benchmarks all
// start the api through here, so they run the same thing.
import { Queue, type Worker } from "bullmq";
import Redis from "ioredis";
import type { Logger } from "pino";
import { type DatabaseHandle, openDatabase } from "../db/client.ts";
import { createMailer, type Mailer } from "../emails/mailer.ts";
import { LocalMediaStorage, type MediaStorage } from "../storage/index.ts";
import { VIDEO_EVENTS_QUEUE } from "../transcoder/contract.ts";
import { type App, createApp } from "./app.ts";
import { ensureAdmin } from "./auth/ensure-admin.ts";
import type { Config } from "./config/index.ts";
import { BackgroundTasks } from "./lifecycle/background.ts";
import { ApiMetrics, processRegistry } from "./metrics/index.ts";
import { ProgressFlusher } from "./progress/flusher.ts";
import { RealtimeHub } from "./realtime/hub.ts";
import { TranscodeQueue } from "./transcoding/queue.ts";
import { reconcileVideos } from "./transcoding/reconcile.ts";
import { startVideoEventConsumer, VideoStateApplier } from "./transcoding/state-events.ts";

export interface ApiRuntime {
  app: App;
  config: Config;
  database: DatabaseHandle;
  redis: Redis;
  storage: MediaStorage;
  transcodeQueue: TranscodeQueue;
  reconcile(): Promise<{ requeued: number; settled: number }>;
  /** Graceful stop: no new requests, in-flight work and mails finished, connections closed. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  mailer?: Mailer;
  clock?: { now(): Date };
  /** Consume state events and reconcile periodically (off for tests that must not race another api). */
  consumeEvents?: boolean;
}

export async function startApiRuntime(options: RuntimeOptions): Promise<ApiRuntime> {
  const { config, log } = options;
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir });
  await database.migrate();
  log.info({ database: database.kind }, "migrations applied");
  if (config.admin) {
    const outcome = await ensureAdmin(database.db, config.admin);
    log.info({ email: config.admin.email, outcome }, "admin account ensured");
  }

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  // BullMQ's blocking reads need a connection that retries forever.
  const bullConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  // Subscriber mode takes a connection over, so the replica has one for all its pub/sub: the WebSocket
  // fan-out, and the catalogue and playback caches that drop entries on video state changes.
  const subscriber = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  for (const client of [redis, bullConnection, subscriber]) {
    client.on("error", (error) => log.error({ err: error.message }, "redis connection error"));
  }
  const realtime = new RealtimeHub(log.child({ component: "realtime" }));
  await realtime.listen(subscriber);
  const storage = new LocalMediaStorage(config.mediaRoot);
  const transcodeQueue = new TranscodeQueue(bullConnection, {
    attempts: config.transcodeAttempts,
    backoffSeconds: config.transcodeBackoffSeconds,
  });
  const eventsQueue = new Queue(VIDEO_EVENTS_QUEUE, { connection: bullConnection });
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
  const app = await createApp({
    config,
    database,
    redis,
    mailer,
    log,
    background,
    clock: options.clock ?? { now: () => new Date() },
    storage,
    transcodeQueue,
    dashboardQueues: [transcodeQueue.queue, eventsQueue],
    subscriber,
    realtime,
    metrics,
  });

  // Watch-progress heartbeats wait in Redis; every replica flushes (safely at the same time).
  const progressFlusher = new ProgressFlusher({
    db: database.db,
    redis,
    log,
    intervalSeconds: config.progressFlushIntervalSeconds,
    onFlush: metrics.observeFlush,
  });
  progressFlusher.start();

  const applier = new VideoStateApplier({ db: database.db, storage, publisher: redis, log });
  const reconcile = () => reconcileVideos({ db: database.db, queue: transcodeQueue, applier, log });
  let consumer: Worker | null = null;
  let reconcileTimer: Timer | null = null;
  if (options.consumeEvents ?? true) {
    consumer = startVideoEventConsumer({ connection: bullConnection, applier, log });
    await reconcile().catch((error) => log.error({ err: error }, "reconcile failed"));
    reconcileTimer = setInterval(
      () => void reconcile().catch((error) => log.error({ err: error }, "reconcile failed")),
      config.reconcileIntervalSeconds * 1000,
    );
  }

  return {
    app,
    config,
    database,
    redis,
    storage,
    transcodeQueue,
    reconcile,
    async stop() {
      if (reconcileTimer) clearInterval(reconcileTimer);
      await realtime.closeAll(); // Bun's server.stop waits for open WebSockets
      await app.stop();
      // No heartbeat arrives any more: write what is pending while Redis and the database are open.
      await progressFlusher.stop();
      await consumer?.close();
      await background.drain();
      await mailer.close();
      await transcodeQueue.close();
      await eventsQueue.close();
      redis.disconnect();
      bullConnection.disconnect();
      subscriber.disconnect();
      await database.close();
    },
  };
}
