// The arguments of `bun run transcode`, checked before anything runs: a mistake is one line that says
// which option is wrong and what it takes.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { X264_PRESETS } from "../config.ts";
import { HWACCEL_SETTINGS, type HwAccelSetting, isHwAccelSetting } from "../hwaccel/modes.ts";

export const USAGE =
  "usage: bun run transcode <file> <out-dir> [--preset veryfast] [--segment 6] [--hwaccel none|nvenc|cuda-decode|auto] [--ladder 360,480,720,1080] [--no-thumbnails] [--verbose]";

/** Arguments the command cannot run with; its message is what the person sees (exit 64, EX_USAGE). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface TranscodeCommandOptions {
  /** Absolute paths. */
  sourcePath: string;
  outputDir: string;
  preset: string;
  segmentSeconds: number;
  hwaccel: HwAccelSetting;
  /** Unset: the pipeline's default ladder. */
  ladderHeights: number[] | undefined;
  thumbnails: boolean;
  verbose: boolean;
}

/** The options, or "help" for --help; throws a UsageError (parseArgs' own errors included) otherwise. */
export function readArguments(args: readonly string[]): TranscodeCommandOptions | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    // An unknown option or a missing value: node's message names the option.
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
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

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
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
}
