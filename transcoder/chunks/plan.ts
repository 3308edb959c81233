// Where a long film is cut so that several encoders can share it: on the HLS segment grid, a whole
// number of segments per chunk, so that every cut is a keyframe the one-FFmpeg ladder would have forced
// anyway and the stitched playlists come out exactly as that ladder writes them.

export interface ChunkSettings {
  /** Films at least this long (seconds) are cut; shorter ones take the one-job path. */
  minSeconds: number;
  /** Whole segments per chunk (the last chunk takes the remainder). */
  segments: number;
  segmentSeconds: number;
}

export const DEFAULT_CHUNK_MIN_SECONDS = 120;
export const DEFAULT_CHUNK_SEGMENTS = 10;

/**
 * Demuxers that cannot seek to a frame exactly: MPEG-TS/PS and raw elementary streams take any packet
 * for a keyframe, so a chunk whose GOP starts more than the pre-roll before it loses its first frames
 * (x264's default 250-frame GOP: nothing decodable at all), and their timestamp discontinuities are
 * corrected by FFmpeg only when read from the start. Their films take the one-job path. The other
 * choice, seeking to a keyframe found in an index read at probe time, costs a pass over the whole file
 * per film and still leaves the discontinuities; encodeChunk checks every chunk's first frame anyway.
 */
const INEXACT_SEEK_DEMUXERS = new Set(["mpegts", "mpeg", "h264", "hevc", "mpegvideo"]);

/** Whether a source read by `demuxer` (probe.ts) can be cut into chunks. */
export function seeksExactly(demuxer: string | undefined): boolean {
  return demuxer !== undefined && !INEXACT_SEEK_DEMUXERS.has(demuxer);
}

/** One slice of the film's timeline, in film seconds: frames with start ≤ t < end (the last: to the end). */
export interface Chunk {
  index: number;
  startSeconds: number;
  /** null for the last chunk: everything from its start to the end of the film. */
  endSeconds: number | null;
}

/**
 * The chunks of a film whose video lasts `videoSeconds`, or null when it is short enough for one job
 * (or would make a single chunk anyway). A remainder shorter than one segment joins the chunk before:
 * a chunk that might hold no frame at all (the container's duration can run past the last frame) is not
 * worth a job.
 */
export function planChunks(videoSeconds: number, settings: ChunkSettings): Chunk[] | null {
  const { minSeconds, segments, segmentSeconds } = settings;
  if (!(segments >= 1 && segmentSeconds > 0)) throw new Error("a chunk needs at least one whole segment");
  if (!(videoSeconds >= minSeconds)) return null;
  const chunkSeconds = segments * segmentSeconds;
  let count = Math.ceil(videoSeconds / chunkSeconds);
  if (count > 1 && videoSeconds - (count - 1) * chunkSeconds < segmentSeconds) count -= 1;
  if (count < 2) return null;
  return Array.from({ length: count }, (_, index) => ({
    index,
    startSeconds: index * chunkSeconds,
    endSeconds: index === count - 1 ? null : (index + 1) * chunkSeconds,
  }));
}

/** How many seconds of film a chunk holds. */
export function chunkSeconds(chunk: Chunk, videoSeconds: number): number {
  return Math.max(0, (chunk.endSeconds ?? videoSeconds) - chunk.startSeconds);
}
