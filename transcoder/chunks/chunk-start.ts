// The check that a chunk begins where the film's one pass would have shown its first frame. A seek that
// lands after the chunk's start (a demuxer that takes any packet for a keyframe, a GOP longer than the
// pre-roll) leaves the frames before the first decodable one out: FFmpeg exits 0, the timestamps still
// look regular, and the stitched film would jump at the join.
import { runProcess } from "../ffmpeg-process.ts";
import { INTERMEDIATE_OFFSET } from "./commands.ts";
import type { Chunk } from "./plan.ts";

/** Slack for the timestamps' rounding (90 kHz ticks in MPEG-TS). */
const ROUNDING_SECONDS = 0.001;

/**
 * Throws unless the chunk's MPEG-TS at `path` starts at most one frame after the chunk's start. The
 * film's first chunk is not judged: a film may well start late (its video after its sound).
 */
export async function checkChunkStart(path: string, chunk: Chunk, frameRate: number): Promise<void> {
  if (chunk.startSeconds === 0) return;
  const first = await firstVideoSeconds(path);
  const latest = chunk.startSeconds + 1 / frameRate + ROUNDING_SECONDS;
  if (first === null || first > latest) {
    const at = first === null ? "no frame at all" : `its first frame at ${first.toFixed(3)} s`;
    throw new Error(
      `chunk ${chunk.index} should start at ${chunk.startSeconds} s but has ${at}: the source cannot be cut there`,
    );
  }
}

/** Film seconds of the first video packet (the chunk's IDR, its earliest frame). */
async function firstVideoSeconds(path: string): Promise<number | null> {
  const result = await runProcess(
    ["ffprobe", "-v", "error", "-f", "mpegts", "-select_streams", "v:0", "-read_intervals", "%+#1"].concat([
      "-show_entries",
      "packet=pts_time",
      "-of",
      "csv=p=0",
      path,
    ]),
    { timeoutMs: 30_000 },
  );
  if (result.exitCode !== 0) throw new Error(`cannot read the chunk ${path}: ${result.stderr.trim()}`);
  const seconds = Number.parseFloat(result.stdout.trim().split("\n")[0] ?? "");
  return Number.isFinite(seconds) ? seconds - INTERMEDIATE_OFFSET : null;
}
