// This transcoder's heartbeat in the farm's Redis hash (contract/transcoder-heartbeats.ts): what it is,
// where it runs, what it encodes with, and the attempts it runs now. Best effort: a beat that fails
// (Redis away) is logged by the connection's error log and the next one tries again. Its age is judged
// by Redis's clock (the write script stamps it), so this host's clock may be off.
import { hostname } from "node:os";
import type Redis from "ioredis";
import type { Logger } from "pino";
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_WRITE_SCRIPT,
  runHeartbeatScript,
  TRANSCODERS_KEY,
  TRANSCODERS_SEEN_KEY,
  type TranscoderHeartbeat,
  transcoderHeartbeats,
} from "../contract/transcoder-heartbeats.ts";
import { encoderOfMode, type HwAccelMode } from "./hwaccel/modes.ts";

export type RunningJob = TranscoderHeartbeat["jobs"][number];

export class Heartbeat {
  private timer: Timer | null = null;
  private readonly now: () => number;
  private readonly startedAt: string;

  constructor(
    private readonly deps: {
      redis: Redis;
      name: string;
      hwaccel: HwAccelMode;
      concurrency: number;
      /** The attempts running now. */
      jobs: () => RunningJob[];
      log: Logger;
      intervalMs?: number;
      /** This host's clock (epoch ms); tests give a skewed one. */
      now?: () => number;
    },
  ) {
    this.now = deps.now ?? Date.now;
    this.startedAt = new Date(this.now()).toISOString();
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.deps.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  }

  /** Writes the heartbeat now (also called when a job starts or ends, so the farm view is current). */
  async beat(): Promise<void> {
    const { redis, name, hwaccel, concurrency } = this.deps;
    const heartbeat: TranscoderHeartbeat = {
      name,
      host: hostname(),
      pid: process.pid,
      hwaccel,
      encoder: encoderOfMode(hwaccel),
      concurrency,
      startedAt: this.startedAt,
      sentAt: this.now(),
      jobs: this.deps.jobs(),
    };
    try {
      await runHeartbeatScript(redis, HEARTBEAT_WRITE_SCRIPT, [name, transcoderHeartbeats.encode(heartbeat)]);
    } catch (error) {
      this.deps.log.debug({ err: error }, "heartbeat not written");
    }
  }

  /** Stops beating and leaves the farm at once (a graceful stop; a crash ages out instead). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.deps.redis
      .multi()
      .hdel(TRANSCODERS_KEY, this.deps.name)
      .zrem(TRANSCODERS_SEEN_KEY, this.deps.name)
      .exec()
      .catch(() => {});
  }
}
