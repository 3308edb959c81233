// Real transcoders attached to a test api's Redis and media root: processes (`bun transcoder/main.ts`), or
// the same worker started in the test process.

import { expect } from "bun:test";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Subprocess, spawn } from "bun";
import pino from "pino";
import { generateVideo } from "../../dev/media.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { startTranscoderService, type TranscoderService } from "../../transcoder/service.ts";
import { type AdminVideo, getVideo, sendAs, upload, uploadForm } from "./admin.ts";
import { eventually } from "./eventually.ts";
import type { Client, TestApi } from "./test-api.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const running = new Set<Subprocess>();

export interface TranscoderProcess {
  process: Subprocess;
  name: string;
  /** Everything the worker logged so far (JSON lines). */
  logs(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number>;
  /** SIGKILL, as a crash or an OOM kill would. */
  kill9(): Promise<void>;
}

/** Where a transcoder finds its work: the api's Redis and media root (a TestApi, or an api process's). */
export interface TranscoderTarget {
  config: Pick<TestApi["config"], "redisUrl" | "mediaRoot">;
}

/** A test transcoder's settings: the api's Redis and media root, fast locks and sweeps, no metrics server. */
function transcoderEnv(
  api: TranscoderTarget,
  name: string,
  env: Record<string, string>,
): Record<string, string> {
  return {
    REDIS_URL: api.config.redisUrl,
    MEDIA_ROOT: api.config.mediaRoot,
    TRANSCODER_NAME: name,
    TRANSCODER_PRESET: "ultrafast",
    HLS_SEGMENT_SECONDS: "2",
    TRANSCODER_STALLED_INTERVAL_SECONDS: "4",
    TRANSCODER_SHUTDOWN_GRACE_SECONDS: "2",
    // A dead attempt's staging goes by the periodic sweep once its lock lapsed: soon, in tests.
    STORAGE_SWEEP_INTERVAL_SECONDS: "2",
    // No metrics server unless a test asks for one on a free port (workers run side by side here).
    TRANSCODER_METRICS_PORT: "0",
    LOG_LEVEL: "info",
    ...env,
  };
}

export interface InProcessTranscoder {
  service: TranscoderService;
  name: string;
  /** Everything the worker logged so far (JSON lines, as the process writes them). */
  logs(): string;
  /** What SIGTERM does to the process: no new jobs, the grace period, hand-back, close. */
  stop(): Promise<void>;
}

const inProcess = new Set<TranscoderService>();

/**
 * The worker `bun transcoder/main.ts` runs, started in this process (startTranscoderService) with the
 * settings startTranscoder gives the process; for tests about what the worker does rather than what
 * the process does (its signals, a kill -9).
 */
export async function startInProcessTranscoder(
  api: TestApi,
  name: string,
  env: Record<string, string> = {},
): Promise<InProcessTranscoder> {
  const config = loadTranscoderConfig(transcoderEnv(api, name, env));
  const lines: string[] = [];
  const log = pino(
    { level: config.logLevel, base: { service: "transcoder", worker: name } },
    { write: (line: string) => void lines.push(line) },
  );
  const service = await startTranscoderService(config, log);
  inProcess.add(service);
  return {
    service,
    name,
    logs: () => lines.join(""),
    async stop() {
      await service.stop("SIGTERM");
      inProcess.delete(service);
    },
  };
}

export function startTranscoder(
  api: TranscoderTarget,
  name: string,
  env: Record<string, string> = {},
): TranscoderProcess {
  const child = spawn([process.execPath, "transcoder/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...transcoderEnv(api, name, env),
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(child.stdout);
  void collect(child.stderr);
  return {
    process: child,
    name,
    logs: () => output,
    async stop() {
      child.kill("SIGTERM");
      const code = await child.exited;
      running.delete(child);
      return code;
    },
    async kill9() {
      child.kill("SIGKILL");
      await child.exited;
      running.delete(child);
    },
  };
}

/** Kills the transcoder processes a test forgot, stops its in-process ones; called from the test preload. */
export async function stopAllTranscoders(): Promise<void> {
  for (const child of running) child.kill("SIGKILL");
  await Promise.all([...running].map((child) => child.exited));
  running.clear();
  await Promise.all([...inProcess].map((service) => service.stop("test run over")));
  inProcess.clear();
}

/** A source with motion and noise in `dir` (farm tests need jobs that take a few seconds). */
export const farmSource = (dir: string, name: string, seconds: number, width = 1280, height = 720) =>
  generateVideo(join(dir, name), { seconds, width, height, fps: 30, audio: "stereo" });

/** Uploads a file as a new video, or as the new file of `replaceId`; expects the 202. */
export async function uploadFile(
  api: TestApi,
  client: Client,
  path: string,
  replaceId?: number,
): Promise<AdminVideo> {
  const file = Bun.file(path);
  const response =
    replaceId === undefined
      ? await upload(api, client, {
          title: `Farm ${path.split("/").pop()}`,
          category: "Farm tests",
          file,
          filename: "clip.mp4",
        })
      : await sendAs(api, client, "PUT", `/api/admin/videos/${replaceId}/file`, {
          body: uploadForm({ file }),
        });
  expect(response.status).toBe(202);
  return (await response.json()) as AdminVideo;
}

/** Waits for the video to reach `state`; a video that fails on the way fails the wait with its reason. */
export const untilState = (client: Client, id: number, state: string, timeoutMs = 90_000) =>
  eventually(
    `video ${id} in state ${state}`,
    async () => {
      const current = await getVideo(client, id);
      if (current.processing_state === "error" && state !== "error") {
        throw new Error(`video ${id} failed: ${current.processing_error}`);
      }
      return current.processing_state === state ? current : undefined;
    },
    timeoutMs,
  );
