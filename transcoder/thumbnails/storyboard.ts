// The seek-preview storyboard: one FFmpeg pass samples a small frame every `interval` seconds, sharp
// packs them into sprite sheets of up to 10×10 tiles, and a WebVTT file maps each interval of the
// timeline to its tile (`storyboard-0.jpg#xywh=x,y,w,h`), as players' thumbnail tracks expect.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { Storyboard } from "../../contract/media.ts";
import { runProcess } from "../ffmpeg-process.ts";
import { sourceInputArgs } from "../source-input.ts";
import { abortReason, runFfmpeg } from "./ffmpeg.ts";
import { evenHeightFor, type ThumbnailPassOptions } from "./pass.ts";

export const TILE_WIDTH = 160;
/** Tiles per sprite sheet row and column. */
export const GRID = 10;
export const MAX_TILES = 1000;
const MIN_INTERVAL = 2;
const MAX_INTERVAL = 10;
/** Keyframe spacing is sampled over windows this long (at the start, a third and two thirds in). */
const KEYFRAME_WINDOW_SECONDS = 20;

type StoryboardOptions = ThumbnailPassOptions;

/**
 * Seconds between tiles: a hundredth of the duration rounded up to whole seconds, kept within 2–10 s
 * (a 20 s clip: 2 s; a 2-hour film: 10 s), then stretched so that no video has more than MAX_TILES.
 */
export function storyboardInterval(durationSeconds: number): number {
  const interval = Math.min(MAX_INTERVAL, Math.max(MIN_INTERVAL, Math.ceil(durationSeconds / 100)));
  return Math.max(interval, Math.ceil(durationSeconds / MAX_TILES));
}

/** Tiles for the whole duration, one per started interval, and at least one. */
export function tileCount(durationSeconds: number, interval: number): number {
  return Math.max(1, Math.ceil(Math.round(durationSeconds * 1000) / (interval * 1000)));
}

/**
 * Makes the storyboard; null when FFmpeg could not sample a single frame (a video without any
 * decodable picture, which probing normally refuses before it gets here).
 */
export async function makeStoryboard(options: StoryboardOptions): Promise<Storyboard | null> {
  const { source, signal } = options;
  const interval = storyboardInterval(source.durationSeconds);
  const expected = tileCount(source.durationSeconds, interval);
  const tile = { width: TILE_WIDTH, height: evenHeightFor(TILE_WIDTH, source) };

  // Decoding keyframes only is many times faster; it is right when they are close enough that the
  // latest one before each tile's time is at most half an interval away.
  const spacing = await keyframeSpacing(options);
  const keyframesOnly = spacing !== null && spacing <= interval / 2;
  let tiles = await extractTiles(options, { interval, expected, tile, keyframesOnly });
  if (tiles.length === 0 && keyframesOnly) {
    tiles = await extractTiles(options, { interval, expected, tile, keyframesOnly: false });
  }
  if (tiles.length === 0) return null;

  const sprites: string[] = [];
  const perSheet = GRID * GRID;
  for (let first = 0, sheet = 0; first < tiles.length; first += perSheet, sheet++) {
    if (signal.aborted) throw abortReason(signal);
    const files = tiles.slice(first, first + perSheet);
    const { columns, rows } = sheetGrid(files.length);
    const name = `storyboard-${sheet}.jpg`;
    await sharp({
      create: {
        width: columns * tile.width,
        height: rows * tile.height,
        channels: 3,
        background: { r: 0, g: 0, b: 0 },
      },
    })
      .composite(
        files.map((input, index) => ({
          input,
          left: (index % columns) * tile.width,
          top: Math.floor(index / columns) * tile.height,
        })),
      )
      .jpeg({ quality: 70, progressive: true, mozjpeg: true })
      .toFile(join(options.outputDir, name));
    sprites.push(name);
  }

  const vtt = "storyboard.vtt";
  await writeFile(
    join(options.outputDir, vtt),
    storyboardVtt({ tiles: tiles.length, interval, durationSeconds: source.durationSeconds, tile }),
  );
  return { vtt: `${options.prefix}/${vtt}`, sprites: sprites.map((sprite) => `${options.prefix}/${sprite}`) };
}

/** A sheet of `tiles`: up to GRID columns, as many rows as needed. */
export function sheetGrid(tiles: number): { columns: number; rows: number } {
  const columns = Math.min(GRID, tiles);
  return { columns, rows: Math.ceil(tiles / columns) };
}

/**
 * The WebVTT thumbnail track: tile `i` covers [i·interval, (i+1)·interval), the last one up to the
 * duration (so fewer tiles than intervals, a video stream ending before the sound, still covers it all).
 */
export function storyboardVtt(options: {
  tiles: number;
  interval: number;
  durationSeconds: number;
  tile: { width: number; height: number };
}): string {
  const { tiles, tile } = options;
  const step = options.interval * 1000;
  const durationMs = Math.round(options.durationSeconds * 1000);
  const perSheet = GRID * GRID;
  const lines = ["WEBVTT", ""];
  for (let index = 0; index < tiles; index++) {
    const start = index * step;
    const end = index === tiles - 1 ? Math.max(durationMs, start + 1) : start + step;
    const sheet = Math.floor(index / perSheet);
    const position = index % perSheet;
    const { columns } = sheetGrid(Math.min(perSheet, tiles - sheet * perSheet));
    const x = (position % columns) * tile.width;
    const y = Math.floor(position / columns) * tile.height;
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`);
    lines.push(`storyboard-${sheet}.jpg#xywh=${x},${y},${tile.width},${tile.height}`, "");
  }
  return lines.join("\n");
}

/** 3723004 → `01:02:03.004`. */
export function vttTime(ms: number): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const seconds = Math.floor(ms / 1000) % 60;
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${pad(ms % 1000, 3)}`;
}

/**
 * The one decoding pass: a frame every `interval` seconds, `tile`-sized, as small JPEGs; returns their
 * paths in order (at most `expected`).
 */
async function extractTiles(
  options: StoryboardOptions,
  plan: {
    interval: number;
    expected: number;
    tile: { width: number; height: number };
    keyframesOnly: boolean;
  },
): Promise<string[]> {
  const { interval, expected, tile, keyframesOnly } = plan;
  const dir = join(options.workDir, keyframesOnly ? "tiles-key" : "tiles");
  await mkdir(dir, { recursive: true });
  await runFfmpeg(
    [
      ...(keyframesOnly ? ["-skip_frame", "nokey"] : []),
      ...sourceInputArgs(options.sourcePath, options.demuxer),
      "-map",
      "0:V:0",
      "-an",
      "-sn",
      "-dn",
      // round=up: tile i is the last frame at or before i·interval (the frame a seek there lands on);
      // with keyframes only, the last keyframe before it. start_time=0 pads a late first frame.
      "-vf",
      `fps=fps=1/${interval}:round=up:start_time=0,scale=${tile.width}:${tile.height},setsar=1`,
      "-fps_mode",
      "passthrough",
      "-frames:v",
      String(expected),
      "-q:v",
      "3",
      "-f",
      "image2",
      join(dir, "tile-%05d.jpg"),
    ],
    {
      what: "sampling the storyboard frames",
      signal: options.signal,
      // The full decode of a long film takes a while on a busy host; a hung FFmpeg must not hang the job.
      timeoutMs: 120_000 + options.source.durationSeconds * 500,
    },
  );
  const names = (await readdir(dir)).filter((name) => /^tile-\d+\.jpg$/.test(name)).sort();
  return names.slice(0, expected).map((name) => join(dir, name));
}

/**
 * The longest gap between keyframes (seconds) over a few sampled windows, from the packet index
 * alone (no decoding); null when unknown (no keyframes seen, or ffprobe failed).
 */
async function keyframeSpacing(options: StoryboardOptions): Promise<number | null> {
  const duration = options.source.durationSeconds;
  const starts = [0, duration / 3, (2 * duration) / 3].filter(
    (start, index) => index === 0 || start >= KEYFRAME_WINDOW_SECONDS,
  );
  let longest = 0;
  for (const start of starts) {
    if (options.signal.aborted) throw abortReason(options.signal);
    const result = await runProcess(
      [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "V:0",
        "-read_intervals",
        `${start.toFixed(3)}%+${KEYFRAME_WINDOW_SECONDS}`,
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        ...sourceInputArgs(options.sourcePath, options.demuxer),
      ],
      { signal: options.signal, timeoutMs: 30_000, stderrLimit: 4096 },
    );
    if (result.aborted) throw abortReason(options.signal);
    if (result.exitCode !== 0) return null;
    const keyframes: number[] = [];
    // The window read ends with its last packet (it starts where the seek landed, not at `start`).
    let windowEnd = Number.NEGATIVE_INFINITY;
    for (const line of result.stdout.split("\n")) {
      const [time, flags] = line.split(",");
      const seconds = Number(time);
      if (time === "" || !Number.isFinite(seconds)) continue;
      windowEnd = Math.max(windowEnd, seconds);
      if (flags?.includes("K")) keyframes.push(seconds);
    }
    if (keyframes.length === 0) return null;
    keyframes.sort((a, b) => a - b);
    // The stretch after the window's last keyframe counts too: the next one is at least that far.
    let previous = keyframes[0] as number;
    for (const time of keyframes) {
      longest = Math.max(longest, time - previous);
      previous = time;
    }
    longest = Math.max(longest, windowEnd - previous);
  }
  return longest;
}
