// This transcoder's heartbeat in the farm's Redis hash (contract/transcoder-heartbeats.ts): what it is,
// where it runs, what it encodes with, and the attempts it runs now. Best effort: a beat that fails
// (Redis away) is logged by the connection's error log and the next one tries again.
import { hostname } from "node:os";
import type Redis from "ioredis";
import type { Logger } from "pino";
import {
  HEARTBEAT_INTERVAL_MS,
  TRANSCODERS_KEY,
  type TranscoderHeartbeat,
  transcoderHeartbeats,
} from "../contract/transcoder-heartbeats.ts";
import type { HwAccelMode } from "./hwaccel/modes.ts";

export type RunningJob = TranscoderHeartbeat["jobs"][number];

export class Heartbeat {
  private timer: Timer | null = null;
  private readonly startedAt = new Date().toISOString();

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
    },
  ) {}

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
      encoder: hwaccel === "nvenc" ? "h264_nvenc" : "libx264",
      concurrency,
      startedAt: this.startedAt,
      sentAt: Date.now(),
      jobs: this.deps.jobs(),
    };
    try {
      await redis.hset(TRANSCODERS_KEY, name, transcoderHeartbeats.encode(heartbeat));
    } catch (error) {
      this.deps.log.debug({ err: error }, "heartbeat not written");
    }
  }

  /** Stops beating and leaves the farm at once (a graceful stop; a crash ages out instead). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.deps.redis.hdel(TRANSCODERS_KEY, this.deps.name).catch(() => {});
  }
}
