// The composition root of the api's services: every service is built here, once per replica, from
// the infrastructure the runtime opened. Route factories receive what they need of the result; no
// feature builds another feature's service.
import { createHmac } from "node:crypto";
import type { Queue } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { ConnectionErrorLog } from "../connections/error-log.ts";
import type { DatabaseHandle } from "../db/client.ts";
import type { Mailer } from "../emails/mailer.ts";
import type { MediaStorage } from "../storage/index.ts";
import { authPlugin } from "./auth/plugin.ts";
import { RateLimiter } from "./auth/rate-limiter.ts";
import { RefreshSessions } from "./auth/refresh-sessions.ts";
import { RevocationEpochs } from "./auth/revocation-epochs.ts";
import { AccountService } from "./auth/service.ts";
import { AccessTokens, REVOCATION_RECHECK_MS } from "./auth/session.ts";
import { SessionService } from "./auth/sessions.ts";
import { UserAdminService } from "./auth/user-admin.ts";
import { CATALOGUE_CACHE_TTL_MS, CatalogueCache } from "./catalogue/cache.ts";
import { CatalogueService } from "./catalogue/service.ts";
import { CategoryAdminService } from "./categories/service.ts";
import type { Config } from "./config/load.ts";
import { ReadinessProbe } from "./health/service.ts";
import { ApiMetrics } from "./metrics/service.ts";
import { PUBLISHED_CACHE_TTL_MS, PublishedVideos } from "./playback/published.ts";
import { PlaybackService } from "./playback/service.ts";
import { MediaTokens } from "./playback/tokens.ts";
import { WatchProgressService } from "./progress/service.ts";
import { FarmService } from "./queues/farm.ts";
import { RealtimeHub } from "./realtime/service.ts";
import { auditLog } from "./shared/audit.ts";
import type { BackgroundTasks } from "./shared/background-tasks.ts";
import { type Clock, epochMsOf } from "./shared/clock.ts";
import type { EventBus } from "./shared/event-bus.ts";
import { languagePlugin } from "./shared/localisation.ts";
import type { Mp4Signer } from "./shared/progressive-mp4.ts";
import { TranscodeAttempts } from "./videos/attempts.ts";
import { VideoLifecycle } from "./videos/lifecycle.ts";
import { VideoAdminService } from "./videos/service.ts";
import type { TranscodeQueue } from "./videos/transcode-queue.ts";
import { UploadCompletion } from "./videos/uploads/completion.ts";
import { DirectUploadService } from "./videos/uploads/direct-uploads.ts";
import { RedisLocker } from "./videos/uploads/locker.ts";
import { StorageUploadStore } from "./videos/uploads/store.ts";
import { ResumableUploads } from "./videos/uploads/tus.ts";

/** What the runtime opened (connections, storage, queues) and hands to the services. */
export interface Infrastructure {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  /** An ordinary connection of the replica (commands, publishing): the request one, failing fast. */
  redis: Redis;
  /** The connection that waits out a blip, for retries that outlive a request; default: redis. */
  patientRedis?: Redis;
  /** The replica's throttled log of connection errors; default: a fresh one on `log`. */
  connectionErrors?: ConnectionErrorLog;
  /** How often cached token verdicts and open sockets are checked for a revocation again (ms). */
  revocationRecheckMs?: number;
  /** The replica's one subscriber, with the typed handlers of every feature. */
  bus: EventBus;
  mailer: Mailer;
  storage: MediaStorage;
  transcodeQueue: TranscodeQueue;
  /** Every BullMQ queue, for the admin dashboard. */
  dashboardQueues: Queue[];
  background: BackgroundTasks;
  clock: Clock;
  /** The replica's Prometheus metrics (shared with the flusher); default: a fresh registry. */
  metrics?: ApiMetrics;
}

export type Services = ReturnType<typeof buildServices>;

export function buildServices(infra: Infrastructure) {
  const { config, log, database, redis, bus, clock } = infra;
  const db = database.db;
  const nowMs = epochMsOf(clock);

  // Revocations are heard before any token is cached: the access-token cache checks them.
  const connectionErrors = infra.connectionErrors ?? new ConnectionErrorLog(log);
  const revocations = new RevocationEpochs({
    db,
    redis,
    patientRedis: infra.patientRedis,
    bus,
    connectionErrors,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    now: nowMs,
    log: log.child({ component: "revocations" }),
  });
  revocations.listen();
  const recheckMs = infra.revocationRecheckMs ?? REVOCATION_RECHECK_MS;
  const accessTokens = new AccessTokens(
    config.jwtSecret,
    config.accessTokenTtlSeconds,
    nowMs,
    revocations,
    recheckMs,
  );
  const refreshSessions = new RefreshSessions({
    db,
    accessTokens,
    clock,
    config,
    successorSecret: config.jwtSecret,
    revocations,
    log,
  });
  const sessions = new SessionService({ db, sessions: refreshSessions, clock });
  const audit = auditLog(log);
  const metrics = infra.metrics ?? new ApiMetrics();
  metrics.watchTranscodeQueue(infra.transcodeQueue.queue);

  const realtime = new RealtimeHub({ bus, revocations, connectionErrors, recheckMs });
  realtime.listen();
  metrics.watchWebSockets(realtime);

  const attempts = new TranscodeAttempts({ db });
  const lifecycle = new VideoLifecycle({
    db,
    storage: infra.storage,
    bus,
    log,
    retiredGraceSeconds: config.storage.kind === "s3" ? config.storage.retiredGraceSeconds : 0,
    attempts,
  });
  const videoAdmin = new VideoAdminService({
    db,
    storage: infra.storage,
    queue: infra.transcodeQueue,
    lifecycle,
    redis,
    log,
    languages: config.supportedLanguages,
    audit,
  });
  // Resumable uploads: the tus store over the media storage, locks in Redis shared by every replica.
  const uploadStore = new StorageUploadStore({
    storage: infra.storage,
    clock,
    expirySeconds: config.uploadExpirySeconds,
    onRefused: (uploadId) => directUploads.release(uploadId),
  });
  const directUploads = new DirectUploadService({
    db,
    clock,
    secret: createHmac("sha256", config.jwtSecret).update("videoflix direct upload v1").digest(),
    store: uploadStore,
    maxUploadBytes: config.maxUploadBytes,
    languages: config.supportedLanguages,
  });
  const uploadLocker = new RedisLocker(redis);
  const uploadCompletion = new UploadCompletion({
    db,
    storage: infra.storage,
    store: uploadStore,
    locker: uploadLocker,
    videoAdmin,
    log,
  });
  const resumableUploads = new ResumableUploads({
    db,
    store: uploadStore,
    locker: uploadLocker,
    completion: uploadCompletion,
    directUploads,
    accessTokens,
    maxUploadBytes: config.maxUploadBytes,
    languages: config.supportedLanguages,
    allowedOrigins: new Set([config.publicOrigin, ...config.corsOrigins]),
    log,
  });
  const catalogueCache = new CatalogueCache(CATALOGUE_CACHE_TTL_MS);
  catalogueCache.listen(bus);
  const published = new PublishedVideos({ db, ttlMs: PUBLISHED_CACHE_TTL_MS });
  published.listen(bus);
  // The `?token=` of media URLs: the playlists' and the authemail dialect's MP4 links.
  const mediaTokens = new MediaTokens(config.mediaTokenSecret, config.mediaTokenTtlSeconds, nowMs);
  // MP4 URLs carry the segments' token, minted to live longer: a <video src> is not re-signed mid-film.
  const mp4Tokens = new MediaTokens(config.mediaTokenSecret, config.mediaMp4TokenTtlSeconds, nowMs);
  const mp4Signer: Mp4Signer = { publicUrl: config.publicUrl, token: (videoId) => mp4Tokens.mint(videoId) };

  return {
    clock,
    storage: infra.storage,
    metrics,
    accessTokens,
    mediaTokens,
    revocations,
    auth: authPlugin(accessTokens),
    /** `{ localised: true }`: the languages a request is answered in (SUPPORTED_LANGUAGES). */
    languages: languagePlugin(config.supportedLanguages),
    readiness: new ReadinessProbe({ database, redis }),
    accounts: new AccountService({
      config,
      db,
      mailer: infra.mailer,
      accessTokens,
      rateLimiter: new RateLimiter(redis, config.rateLimits),
      background: infra.background,
      clock,
      log,
      sessions: refreshSessions,
    }),
    sessions,
    userAdmin: new UserAdminService({ db, refreshSessions, sessions, audit }),
    lifecycle,
    attempts,
    videoAdmin,
    uploadStore,
    /** The sweep of resumable uploads past UPLOAD_EXPIRY: their bytes, their rows, their URLs freed. */
    sweepExpiredUploads: async () => {
      const swept = await uploadStore.sweepExpired();
      await directUploads.forget(swept.ids);
      return { items: swept.items, bytes: swept.bytes };
    },
    directUploads,
    uploadCompletion,
    resumableUploads,
    categoryAdmin: new CategoryAdminService({ db, bus, languages: config.supportedLanguages, audit }),
    queues: infra.dashboardQueues,
    farm: new FarmService({
      db,
      redis,
      queue: infra.transcodeQueue.queue,
      clock,
      attemptsEndedSince: (since) => attempts.throughputSince(since),
      retryVideo: (actor, videoId) => videoAdmin.retry(actor, videoId),
    }),
    /** What every presenter of MP4 links signs with (`mp4UrlsOf`, api/shared/progressive-mp4.ts). */
    mp4Signer,
    catalogue: new CatalogueService({
      db,
      cache: catalogueCache,
      publicUrl: config.publicUrl,
      languages: config.supportedLanguages,
      mp4Signer,
    }),
    playback: new PlaybackService({
      storage: infra.storage,
      accessTokens,
      mediaTokens,
      published,
      clock,
    }),
    // One service for heartbeats over HTTP and over the WebSocket: one video-duration cache per replica.
    watchProgress: new WatchProgressService({
      db,
      redis,
      config,
      clock,
      onRecorded: metrics.heartbeatRecorded,
    }),
    realtime,
  };
}
