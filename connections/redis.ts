// The Redis connections of the api and the transcoders, by what they are for. Every role reconnects
// forever (ioredis' default retry strategy); they differ in what a command does while Redis is away.
import Redis, { type RedisOptions } from "ioredis";
import type { ConnectionErrorLog } from "./error-log.ts";

export type RedisRole = "request" | "background" | "queue" | "subscriber";

/** How long a request path waits for Redis to accept a connection or answer a command. */
export const REQUEST_REDIS_TIMEOUT_MS = 1000;
/** The bound on a background command (offline queue included), so that a hung Redis cannot hold one forever. */
export const BACKGROUND_REDIS_COMMAND_TIMEOUT_MS = 10_000;

export const REDIS_OPTIONS: Readonly<Record<RedisRole, RedisOptions>> = Object.freeze({
  // Request paths (rate limits, heartbeats, announcements, enqueueing, readiness): fail at once while
  // Redis is away, so the request is answered 503 within about a second instead of waiting seconds and
  // failing anyway.
  request: {
    connectTimeout: REQUEST_REDIS_TIMEOUT_MS,
    commandTimeout: REQUEST_REDIS_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  },
  // Background work (flushing heartbeats, the transcoders' progress ticks): rides out a short blip in
  // the offline queue, bounded so that a hung Redis cannot hold it forever.
  background: { maxRetriesPerRequest: 3, commandTimeout: BACKGROUND_REDIS_COMMAND_TIMEOUT_MS },
  // BullMQ's blocking reads need a connection whose commands wait for Redis however long it takes.
  queue: { maxRetriesPerRequest: null },
  // Subscriber mode takes a connection over; ioredis subscribes again after each reconnect.
  subscriber: { maxRetriesPerRequest: null },
});

/** A connection for `role`, its errors and recoveries logged (throttled) as `redis <name>`. */
export function openRedis(
  url: string,
  role: RedisRole,
  errors: ConnectionErrorLog,
  name: string = role,
): Redis {
  const client = new Redis(url, REDIS_OPTIONS[role]);
  errors.watchClient(client, `redis ${name}`);
  return client;
}

/**
 * Resolves once `client` is ready. A request connection refuses commands until then (no offline
 * queue), so a process waits for it before it takes requests, however long Redis takes to come up.
 */
export function redisReady(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => client.once("ready", () => resolve()));
}
