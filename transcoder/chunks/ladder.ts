// A chunked ladder run by one process: the sound, every chunk, then the stitch, with the progress of
// the whole. The farm runs the same pieces as separate jobs on many replicas; this is the path the CLI
// and the pipeline take, and the reference a farm's output must equal.
import { join } from "node:path";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import type { Rung } from "../ladder.ts";
import type { TranscodeLog } from "../log.ts";
import type { SourceFacts } from "../probe.ts";
import { encodeAudio, encodeChunk, type PieceOptions, stitchLadder } from "./encode.ts";
import { type Chunk, chunkSeconds } from "./plan.ts";

export interface ChunkedLadderInput {
  sourcePath: string;
  source: SourceFacts;
  ladder: readonly Rung[];
  segmentSeconds: number;
  chunks: readonly Chunk[];
  /** Where the pieces are written (emptied by the caller); the HLS tree goes to `outputDir`. */
  scratchDir: string;
  outputDir: string;
  preset?: string;
  hwaccel?: HwAccelMode;
  signal?: AbortSignal;
  log?: TranscodeLog;
  encodeTimeout?: PieceOptions["encodeTimeout"];
  /** 0–1 of the whole ladder, FFmpeg's speed of the running piece. */
  onProgress?: (fraction: number, speed: number | null) => void;
}

/** The share of the work that is not video (measured: the sound and the stitch are a few % of it). */
export const PIECE_WEIGHTS = { audio: 0.03, stitch: 0.02 } as const;

/** The file a chunk's video is written to: its index, zero-padded so the names sort in film order. */
export function chunkFileName(chunk: Pick<Chunk, "index">): string {
  return `chunk_${String(chunk.index).padStart(5, "0")}.ts`;
}
export const AUDIO_FILE = "audio.ts";

/** The film's video length: the chunks' ends are measured on it (the container's may include sound). */
export function videoSecondsOf(source: Pick<SourceFacts, "videoDurationSeconds" | "durationSeconds">) {
  return source.videoDurationSeconds ?? source.durationSeconds;
}

export async function encodeLadderInChunks(input: ChunkedLadderInput): Promise<void> {
  const { source, chunks, scratchDir, signal, log } = input;
  const videoSeconds = videoSecondsOf(source);
  const hasAudio = source.audio !== null;
  const videoWeight = 1 - PIECE_WEIGHTS.stitch - (hasAudio ? PIECE_WEIGHTS.audio : 0);
  let doneSeconds = 0;
  let audioFraction = 0;
  const report = (running: number, speed: number | null) => {
    const video = ((doneSeconds + running) / Math.max(videoSeconds, 0.001)) * videoWeight;
    input.onProgress?.(Math.min(1, video + audioFraction * PIECE_WEIGHTS.audio), speed);
  };
  const pieceOptions = { signal, log, encodeTimeout: input.encodeTimeout };

  const audioPath = hasAudio ? join(scratchDir, AUDIO_FILE) : null;
  if (audioPath) {
    await encodeAudio(
      {
        sourcePath: input.sourcePath,
        outputPath: audioPath,
        source,
        ladder: input.ladder,
        ...durationOf(source),
      },
      {
        ...pieceOptions,
        onProgress: (fraction, speed) => {
          audioFraction = fraction;
          report(0, speed);
        },
      },
    );
  }
  const chunkPaths: string[] = [];
  for (const chunk of chunks) {
    const outputPath = join(scratchDir, chunkFileName(chunk));
    const seconds = chunkSeconds(chunk, videoSeconds);
    await encodeChunk(
      { ...input, outputPath, chunk, videoSeconds },
      { ...pieceOptions, onProgress: (fraction, speed) => report(fraction * seconds, speed) },
    );
    doneSeconds += seconds;
    chunkPaths.push(outputPath);
  }
  await stitchLadder(
    {
      chunkPaths,
      audioPath,
      outputDir: input.outputDir,
      ladder: input.ladder,
      segmentSeconds: input.segmentSeconds,
      ...durationOf(source),
    },
    pieceOptions,
  );
  input.onProgress?.(1, null);
}

const durationOf = (source: Pick<SourceFacts, "durationSeconds">) => ({
  durationSeconds: source.durationSeconds,
});
