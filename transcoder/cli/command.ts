// `bun run transcode`: the worker's pipeline on one local file. The tree is written next to <out-dir>
// and renamed into place only when complete, so an interrupted or failed run leaves no half output.
// transcoder/cli.ts runs it with the process's streams and signals; tests run it in process.
import { mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import pino from "pino";
import { InputError } from "../errors.ts";
import { resolveHwAccel } from "../hwaccel/index.ts";
import { transcode } from "../pipeline.ts";
import { readArguments, USAGE, UsageError } from "./arguments.ts";
import { type ProgressStream, progressDisplay, summary } from "./display.ts";

/** Exit statuses (sysexits.h where one fits). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, usage: 64, noInput: 66 } as const;

export interface CommandIO {
  /** The summary and the usage of --help, one text at a time. */
  out: (text: string) => void;
  /** Progress, errors and the log's lines. */
  err: ProgressStream;
  /** Aborted: FFmpeg stops and the run ends as failed (the entry aborts on SIGINT and SIGTERM). */
  signal?: AbortSignal;
}

/** Runs the command on `args` (what follows `bun run transcode`) and returns its exit status. */
export async function runTranscodeCommand(args: readonly string[], io: CommandIO): Promise<number> {
  let options: ReturnType<typeof readArguments>;
  try {
    options = readArguments(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err.write(`${error.message}\n`);
    return EXIT.usage;
  }
  if (options === "help") {
    io.out(USAGE);
    return EXIT.ok;
  }
  const log = pino(
    { level: options.verbose ? "debug" : "warn" },
    { write: (line: string) => void io.err.write(line) },
  );
  // The same self-test as the worker: a GPU mode this host cannot run falls back with a warning.
  const hwaccel = await resolveHwAccel(options.hwaccel, log);
  if (!(await stat(options.sourcePath).catch(() => null))) {
    io.err.write(`${options.sourcePath}: no such file\n`);
    return EXIT.noInput;
  }

  const staging = await mkdtemp(join(dirname(options.outputDir), `.${basename(options.outputDir)}.partial-`));
  const display = progressDisplay(io.err);
  io.err.write(
    `transcoding ${options.sourcePath} (preset ${options.preset}, ${options.segmentSeconds} s segments, hwaccel ${hwaccel})\n`,
  );
  const startedAt = performance.now();
  try {
    const result = await transcode({
      sourcePath: options.sourcePath,
      outputDir: staging,
      ladderHeights: options.ladderHeights,
      segmentSeconds: options.segmentSeconds,
      preset: options.preset,
      hwaccel,
      thumbnails: options.thumbnails,
      signal: io.signal,
      log,
      onProgress: (tick) => display.show(tick),
    });
    display.end();
    await publish(staging, options.outputDir);
    io.out(summary(result, options.outputDir, (performance.now() - startedAt) / 1000));
    return EXIT.ok;
  } catch (error) {
    display.end();
    await rm(staging, { recursive: true, force: true });
    if (error instanceof InputError) {
      io.err.write(`This file cannot be transcoded: ${error.message}\n`);
      return EXIT.badInput;
    }
    io.err.write(`Transcoding failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

/** Moves the finished tree into place; an earlier output at that path is replaced. */
async function publish(staging: string, outputDir: string): Promise<void> {
  const previous = await stat(outputDir).catch(() => null);
  if (!previous) {
    await rename(staging, outputDir);
    return;
  }
  const retired = `${staging}.previous`;
  await rename(outputDir, retired);
  await rename(staging, outputDir);
  await rm(retired, { recursive: true, force: true });
}
