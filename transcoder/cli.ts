// `bun run transcode <file> <out-dir> [--preset veryfast] [--segment 6] [--hwaccel none|nvenc|cuda-decode|auto]`
// The worker's pipeline on one local file: a progress bar while it runs, a summary at the end. The tree
// is written next to <out-dir> and renamed into place only when complete.
import { mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import type { TranscodeResult } from "../contract/media.ts";
import { X264_PRESETS } from "./config.ts";
import { InputError } from "./errors.ts";
import { resolveHwAccel } from "./hwaccel/index.ts";
import { HWACCEL_SETTINGS, isHwAccelSetting } from "./hwaccel/modes.ts";
import type { TranscodeLog } from "./log.ts";
import { type PipelineProgress, transcode } from "./pipeline.ts";

const USAGE =
  "usage: bun run transcode <file> <out-dir> [--preset veryfast] [--segment 6] [--hwaccel none|nvenc|cuda-decode|auto] [--ladder 360,480,720,1080] [--no-thumbnails] [--verbose]";

class UsageError extends Error {}

function readArguments() {
  const { values, positionals } = parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: {
      preset: { type: "string", default: "veryfast" },
      segment: { type: "string", default: "6" },
      hwaccel: { type: "string", default: "none" },
      ladder: { type: "string" },
      "no-thumbnails": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [sourcePath, outputDir, ...extra] = positionals;
  if (!sourcePath || !outputDir || extra.length > 0) throw new UsageError(USAGE);
  if (!X264_PRESETS.includes(values.preset))
    throw new UsageError(`--preset must be one of ${X264_PRESETS.join(", ")}`);
  const segmentSeconds = Number(values.segment);
  if (!Number.isInteger(segmentSeconds) || segmentSeconds < 1 || segmentSeconds > 30) {
    throw new UsageError("--segment must be a whole number of seconds from 1 to 30");
  }
  const hwaccel = values.hwaccel;
  if (!isHwAccelSetting(hwaccel))
    throw new UsageError(`--hwaccel must be one of ${HWACCEL_SETTINGS.join(", ")}`);
  const ladderHeights = values.ladder?.split(",").map((height) => Number(height.trim()));
  if (ladderHeights?.some((height) => !Number.isInteger(height) || height < 144 || height % 2 !== 0)) {
    throw new UsageError("--ladder must be comma-separated even heights like 360,480,720,1080");
  }
  return {
    sourcePath: resolve(sourcePath),
    outputDir: resolve(outputDir),
    preset: values.preset,
    segmentSeconds,
    hwaccel,
    ladderHeights,
    thumbnails: !values["no-thumbnails"],
    verbose: values.verbose,
  };
}

/** A one-line bar redrawn in place on a terminal; a plain line per stage and per 10% otherwise. */
function progressDisplay(tty: boolean) {
  let lastStage = "";
  let lastDecile = -1;
  return {
    show(tick: PipelineProgress) {
      const percent = `${tick.percent.toFixed(1).padStart(5)}%`;
      const speed = tick.speed ? `${tick.speed.toFixed(2)}x` : "";
      const eta = tick.etaSeconds !== null ? `ETA ${clock(tick.etaSeconds)}` : "";
      if (tty) {
        const width = 30;
        const filled = Math.round((tick.percent / 100) * width);
        const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
        process.stderr.write(
          `\r\x1b[2K${bar} ${tick.stage.padEnd(10)} ${percent} ${speed.padStart(7)} ${eta}`,
        );
        return;
      }
      const decile = Math.floor(tick.percent / 10);
      if (tick.stage === lastStage && decile === lastDecile) return;
      lastStage = tick.stage;
      lastDecile = decile;
      process.stderr.write(`${tick.stage} ${percent} ${speed} ${eta}`.trimEnd().concat("\n"));
    },
    end() {
      if (tty) process.stderr.write("\n");
    },
  };
}

function summary(result: TranscodeResult, outputDir: string, wallSeconds: number): string {
  const rows = [
    ["rendition", "size", "fps", "bandwidth", "average", "codecs"],
    ...result.renditions.map((rendition) => [
      rendition.name,
      `${rendition.width}x${rendition.height}`,
      String(rendition.frameRate),
      `${Math.round(rendition.bandwidth / 1000)} kb/s`,
      `${Math.round(rendition.averageBandwidth / 1000)} kb/s`,
      rendition.codecs,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd(),
  );
  return [
    ...table,
    "",
    `master playlist  ${join(outputDir, result.masterPlaylist)}`,
    `posters          ${result.posters.length}${result.storyboard ? `, storyboard ${result.storyboard.vtt}` : ""}`,
    `duration         ${clock(result.durationSeconds)} (${result.durationSeconds.toFixed(2)} s)`,
    `wall time        ${clock(wallSeconds)} (${wallSeconds.toFixed(2)} s)`,
    `realtime factor  ${(result.durationSeconds / wallSeconds).toFixed(2)}x`,
  ].join("\n");
}

function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
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

async function main(): Promise<number> {
  let options: ReturnType<typeof readArguments>;
  try {
    options = readArguments();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 64;
  }
  const logger = pino({ level: options.verbose ? "debug" : "warn" }, pino.destination(2));
  const log: TranscodeLog = logger;
  // The same self-test as the worker: a GPU mode this host cannot run falls back with a warning.
  const hwaccel = await resolveHwAccel(options.hwaccel, logger);
  await stat(options.sourcePath).catch(() => {
    console.error(`${options.sourcePath}: no such file`);
    process.exit(66);
  });

  const staging = await mkdtemp(join(dirname(options.outputDir), `.${basename(options.outputDir)}.partial-`));
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error("interrupted"));
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  const display = progressDisplay(Boolean(process.stderr.isTTY));
  process.stderr.write(
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
      signal: controller.signal,
      log,
      onProgress: (tick) => display.show(tick),
    });
    display.end();
    await publish(staging, options.outputDir);
    console.log(summary(result, options.outputDir, (performance.now() - startedAt) / 1000));
    return 0;
  } catch (error) {
    display.end();
    await rm(staging, { recursive: true, force: true });
    if (error instanceof InputError) {
      console.error(`This file cannot be transcoded: ${error.message}`);
      return 2;
    }
    console.error(`Transcoding failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exit(await main());
