// What a fault scenario works with: the farm, the servers it may kill, the media volume it may fill,
// the admin session, and the shared moves (upload the source, catch its job mid-encode, wait for it).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "../../dev/probes.ts";
import type { AdminSession } from "./admin-session.ts";
import type { ChaosFarm } from "./farm.ts";
import { type Stores, unreadableError, type VideoRow } from "./invariants.ts";
import type { MediaVolume } from "./media-volume.ts";
import { ffmpegWritingUnder, isAlive, signal } from "./processes.ts";
import type { ChaosPostgres, ChaosRedis } from "./servers.ts";

/** How long a video may take to reach `ready` or `error` once nothing stands in its way. */
export const SETTLE_MS = 60_000;

/** A job's encode stopped with SIGSTOP: its FFmpeg, the transcoder running it, its staging directory. */
export interface FrozenEncode {
  pid: number;
  transcoder: string;
  stagingDir: string;
}

export class ChaosContext {
  /** What went wrong in the current scenario; empty: it held. */
  violations: string[] = [];
  /** Leftovers an earlier scenario was already held to: each is reported once, where it appeared. */
  readonly reportedLeftovers = new Set<string>();
  /** A video that reached `ready` in an earlier scenario (heartbeats need one). */
  readyVideo: number | null = null;
  private readonly frozen = new Set<number>();

  constructor(
    readonly farm: ChaosFarm,
    readonly redis: ChaosRedis,
    readonly postgres: ChaosPostgres,
    readonly volume: MediaVolume,
    readonly stores: Stores,
    readonly session: AdminSession,
    /** The source every job transcodes (a few seconds, generated with FFmpeg's lavfi). */
    readonly source: string,
  ) {}

  violated(message: string): void {
    this.violations.push(message);
  }

  /** A fault's moment, printed with the wall-clock time the children's JSON logs carry. */
  mark(event: string): void {
    console.log(`    ${new Date().toISOString()} ${event}`);
  }

  /** Uploads the source as a new video; returns its id (a refused upload fails the scenario). */
  async uploadSource(title: string): Promise<number> {
    const response = await this.session.upload(Bun.file(this.source), title);
    const text = await response.text();
    if (response.status !== 202) throw new Error(`upload "${title}": ${response.status} ${text}`);
    return (JSON.parse(text) as { id: number }).id;
  }

  /**
   * Waits for a job's FFmpeg to write into staging and stops it (SIGSTOP): the job is then mid-encode
   * for as long as the fault needs. Returns the FFmpeg's pid and the transcoder running it; `except`:
   * FFmpegs already caught.
   */
  async freezeEncode(except: ReadonlySet<number> = new Set()): Promise<FrozenEncode> {
    const staging = join(this.farm.mediaRoot, ".staging");
    const found: FrozenEncode[] = [];
    await waitUntil(
      "a job's FFmpeg writing into staging",
      async () => {
        for (const ffmpeg of ffmpegWritingUnder(staging)) {
          if (except.has(ffmpeg.pid)) continue;
          signal(ffmpeg.pid, "SIGSTOP");
          this.frozen.add(ffmpeg.pid);
          const transcoder = this.farm.transcoderOf(ffmpeg.ppid);
          const output = ffmpeg.argv.find((arg) => arg.startsWith(`${staging}/`));
          const dir = output?.slice(staging.length + 1).split("/")[0];
          if (transcoder && dir) found.push({ pid: ffmpeg.pid, transcoder, stagingDir: join(staging, dir) });
        }
        return found.length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    return found[0]!;
  }

  /** Lets a frozen encode run until it has written `segments` HLS segments, then freezes it again. */
  async advance(encode: FrozenEncode, segments: number): Promise<void> {
    const written = () =>
      existsSync(encode.stagingDir)
        ? (readdirSync(encode.stagingDir, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"))
            .length
        : 0;
    signal(encode.pid, "SIGCONT");
    try {
      await waitUntil(
        `${segments} segment(s) written`,
        async () => written() >= segments || !isAlive(encode.pid),
        {
          timeoutMs: 30_000,
          intervalMs: 5,
        },
      );
    } finally {
      signal(encode.pid, "SIGSTOP");
    }
  }

  /** Waits until the api has written some of an upload's bytes into its staging (`upload…--<uuid>`). */
  async untilUploadStaged(): Promise<void> {
    const staging = join(this.farm.mediaRoot, ".staging");
    const bytesIn = (dir: string) =>
      (readdirSync(dir, { recursive: true }) as string[])
        .map((file) => statSync(join(dir, file), { throwIfNoEntry: false }))
        .reduce((sum, info) => sum + (info?.isFile() ? info.size : 0), 0);
    const staged = () =>
      existsSync(staging) &&
      readdirSync(staging)
        .filter((name) => name.startsWith("upload"))
        .some((dir) => bytesIn(join(staging, dir)) > 0);
    await waitUntil("the upload's bytes in staging", async () => staged(), {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
  }

  thaw(pid: number): void {
    signal(pid, "SIGCONT");
    this.frozen.delete(pid);
  }

  /** Lets every stopped FFmpeg go on (after a scenario, whatever happened in it). */
  thawAll(): void {
    for (const pid of [...this.frozen]) this.thaw(pid);
  }

  /** Waits for the video to be `ready` or `error`; a readable error is required when it is `error`. */
  async untilSettled(id: number, timeoutMs = SETTLE_MS): Promise<VideoRow> {
    let row: VideoRow | undefined;
    await waitUntil(
      `video ${id} to reach ready or error`,
      async () => {
        row = (await this.stores.videos().catch(() => [])).find((video) => video.id === id);
        return row?.state === "ready" || row?.state === "error";
      },
      { timeoutMs, intervalMs: 200 },
    );
    if (!row) throw new Error(`video ${id} vanished`);
    if (row.state === "error") {
      const unreadable = unreadableError(row.error);
      if (unreadable) this.violated(`video ${id} ended in error, ${unreadable}`);
    }
    return row;
  }

  /** Like untilSettled, and anything but `ready` is a violation (one: the error said as it came). */
  async untilReady(id: number, timeoutMs = SETTLE_MS): Promise<VideoRow> {
    const before = this.violations.length;
    const row = await this.untilSettled(id, timeoutMs);
    if (row.state !== "ready") {
      this.violations.splice(before);
      this.violated(
        `video ${id} ended in ${row.state} instead of ready: "${(row.error ?? "").slice(0, 200)}"`,
      );
    } else this.readyVideo ??= id;
    return row;
  }
}

export const seconds = (fromMs: number, toMs = performance.now()) => (toMs - fromMs) / 1000;
