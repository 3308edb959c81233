// A film whose every frame says which it is, and the probes that read it back from a rendition. Each
// frame's grey level is its source frame number modulo 13 (16, 32, … 208 in luma: steps wide enough for
// a 180p encode's error), so a frame shown
// under the wrong timestamp, dropped or doubled shows in the sequence; once a second (every `flashEvery`
// frames) one frame is white (235) while a 40 ms beep starts on the sound track: where the two land in
// the output is the A/V offset.
import { join } from "node:path";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

const LEVELS = 13;
const STEP = 16;
const FLASH_LUMA = 235;

export interface MarkedFilm {
  /** Frame rate as FFmpeg takes it ("24000/1001"). */
  rate: string;
  seconds: number;
  /** Container by extension: "avi", "mp4", "mkv", "ts". */
  ext: string;
  /** Encoder options for the video (codec, GOP, B-frames). */
  video: string[];
  /** Encoder options for the sound; none: a silent film. */
  audio?: string[];
  /** Delays the picture against the sound (seconds; the sound then starts first). */
  videoDelay?: number;
  /** Drops every n-th frame (its timestamp stays a gap): a camera that loses frames. */
  dropEvery?: number;
}

/** The frame-rate value of `rate` ("24000/1001" → 23.976…). */
export function rateValue(rate: string): number {
  const [num, den = "1"] = rate.split("/");
  return Number(num) / Number(den);
}

/** Writes `film` into `dir` and returns its path. */
export async function writeMarkedFilm(dir: string, name: string, film: MarkedFilm): Promise<string> {
  const path = join(dir, `${name}.${film.ext}`);
  const flashEvery = Math.round(rateValue(film.rate));
  const flash = `eq(mod(N\\,${flashEvery})\\,${Math.floor(flashEvery / 2)})`;
  const luma = `if(${flash}\\,${FLASH_LUMA}\\,16+${STEP}*mod(N\\,${LEVELS}))`;
  let video = `color=c=black:s=320x180:r=${film.rate}:d=${film.seconds},format=yuv420p`;
  video += `,geq=lum='${luma}':cb=128:cr=128`;
  if (film.dropEvery) video += `,select='not(eq(mod(n\\,${film.dropEvery})\\,${film.dropEvery - 1}))'`;
  // The beep starts on the flash frame's instant: frame (flashEvery/2 + k·flashEvery) / rate.
  const frames = `t*${film.rate}`;
  const beep = `lt(mod(${frames}-${Math.floor(flashEvery / 2)}+${flashEvery}\\,${flashEvery})\\,0.04*${film.rate})`;
  const args = ["-v", "error", "-y"];
  if (film.videoDelay) args.push("-itsoffset", String(film.videoDelay));
  args.push("-f", "lavfi", "-i", video);
  if (film.audio) {
    const sound = `aevalsrc='0.5*sin(2*PI*1000*t)*${beep}|0.5*sin(2*PI*1000*t)*${beep}':s=48000:d=${film.seconds}`;
    args.push("-f", "lavfi", "-i", sound, "-map", "0:v", "-map", "1:a", ...film.audio);
  }
  args.push(...film.video, path);
  const result = await runProcess(["ffmpeg", "-hide_banner", "-nostdin", ...args], { timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new Error(`ffmpeg ${args.join(" ")}: ${result.stderr}`);
  return path;
}

/** What a flash frame reads as. */
export const FLASH_ID = LEVELS + 1;

/** A frame's mark from its mean luma. */
function markOf(luma: number): number {
  if (luma > 16 + STEP * (LEVELS - 0.5)) return FLASH_ID;
  return Math.max(0, Math.round((luma - 16) / STEP));
}

export interface ShownFrame {
  /** Presentation time in the file's own timestamps (seconds). */
  seconds: number;
  /** The source frame number modulo 13; FLASH_ID for a flash. */
  id: number;
}

/** Every frame a playlist (or file) shows, in order, with the mark it carries. */
export async function shownFrames(path: string): Promise<ShownFrame[]> {
  const lines = await lavfiFrames(
    `movie=${path}:s=dv,signalstats`,
    "frame=pts_time:frame_tags=lavfi.signalstats.YAVG",
  );
  return lines.map(([seconds, luma]) => ({
    seconds: Number(seconds),
    id: markOf(Number(luma)),
  }));
}

/** When each flash is shown and when each beep starts, in the file's own timestamps. */
export async function flashesAndBeeps(path: string): Promise<{ flashes: number[]; beeps: number[] }> {
  const flashes = (await shownFrames(path)).filter((f) => f.id === FLASH_ID).map((f) => f.seconds);
  // silencedetect tags the first frame after a silence with the sample-exact instant it ended.
  const lines = await lavfiFrames(
    `amovie=${path},silencedetect=noise=-30dB:duration=0.1`,
    "frame_tags=lavfi.silence_end",
  );
  const beeps = lines.map(([end]) => Number(end)).filter((end) => Number.isFinite(end));
  return { flashes, beeps };
}

/** Each beep's start minus its flash's instant (seconds), for every flash that has a beep near it. */
export function avOffsets(marks: { flashes: number[]; beeps: number[] }): number[] {
  return marks.flashes.flatMap((flash) => {
    const beep = marks.beeps.find((b) => Math.abs(b - flash) < 0.3);
    return beep === undefined ? [] : [beep - flash];
  });
}

/** Per segment of a rung folder: its video packets in decode order (presentation time, keyframe). */
export async function segmentPackets(
  rungDir: string,
  segments: string[],
): Promise<{ seconds: number; key: boolean }[][]> {
  const all = [];
  for (const segment of segments) {
    const result = await runProcess(
      // -f mpegts: a last segment of two frames is too short for format probing.
      ["ffprobe", "-v", "error", "-f", "mpegts", "-select_streams", "v:0"].concat(
        ["-show_entries", "packet=pts_time,flags"],
        ["-of", "csv=p=0", join(rungDir, segment)],
      ),
      { timeoutMs: 30_000 },
    );
    if (result.exitCode !== 0) throw new Error(result.stderr);
    const packets = result.stdout
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => line.split(","))
      .map(([seconds, flags]) => ({ seconds: Number(seconds), key: (flags ?? "").startsWith("K") }));
    all.push(packets);
  }
  return all;
}

async function lavfiFrames(graph: string, entries: string): Promise<string[][]> {
  const result = await runProcess(
    ["ffprobe", "-v", "error", "-f", "lavfi", "-i", graph, "-show_entries", entries, "-of", "csv=p=0"],
    { timeoutMs: 120_000 },
  );
  if (result.exitCode !== 0) throw new Error(`ffprobe ${graph}: ${result.stderr}`);
  return result.stdout
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => line.split(",").filter((field) => field !== ""));
}
