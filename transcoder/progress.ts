// FFmpeg's `-progress` output: blocks of key=value lines, each closed by `progress=continue` (or
// `progress=end` for the last). Turned into how far the encode got, how fast, and when it will end.

/**
 * A tick's place among the ticks several processes compute from one shared record (a film's flow hash,
 * chunks/flow-progress.ts): `seq` numbers the snapshots of the hash at `key`. Ticks reach Redis in any
 * order (each replica sends its own as soon as it has computed it), so the reporter publishes one only
 * when no later snapshot's tick was published before it (TranscodeReporter.progress).
 */
export interface TickOrder {
  key: string;
  seq: number;
}

export interface FfmpegProgress {
  /** Media time written so far, seconds. */
  outTimeSeconds: number;
  /** Multiple of real time, or null while FFmpeg does not know yet ("N/A"). */
  speed: number | null;
  /** Frames written so far (0 when there is no video). */
  frame: number;
  /** True on the last block. */
  done: boolean;
}

/**
 * Feeds on stdout chunks (lines may be split anywhere) and calls `onBlock` once per finished block.
 * `out_time_ms` is, despite its name, microseconds in FFmpeg (a long-standing quirk), like `out_time_us`.
 */
export class ProgressParser {
  private pending = "";
  private block = new Map<string, string>();
  private last: FfmpegProgress = { outTimeSeconds: 0, speed: null, frame: 0, done: false };

  constructor(private readonly onBlock: (progress: FfmpegProgress) => void = () => {}) {}

  push(chunk: string): void {
    this.pending += chunk;
    let newline = this.pending.indexOf("\n");
    while (newline !== -1) {
      this.line(this.pending.slice(0, newline).trim());
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf("\n");
    }
  }

  /** The latest finished block. */
  get latest(): FfmpegProgress {
    return this.last;
  }

  private line(line: string): void {
    const equals = line.indexOf("=");
    if (equals <= 0) return;
    const key = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (key !== "progress") {
      this.block.set(key, value);
      return;
    }
    this.last = readBlock(this.block, value === "end", this.last);
    this.block = new Map();
    this.onBlock(this.last);
  }
}

function readBlock(block: Map<string, string>, done: boolean, previous: FfmpegProgress): FfmpegProgress {
  const micros = Number(block.get("out_time_us") ?? block.get("out_time_ms"));
  const fromClock = clockSeconds(block.get("out_time"));
  const outTimeSeconds =
    Number.isFinite(micros) && micros >= 0 ? micros / 1e6 : (fromClock ?? previous.outTimeSeconds);
  const speed = Number.parseFloat(block.get("speed") ?? "");
  const frame = Number(block.get("frame"));
  return {
    outTimeSeconds,
    speed: Number.isFinite(speed) && speed > 0 ? speed : null,
    frame: Number.isFinite(frame) ? frame : previous.frame,
    done,
  };
}

/** "00:01:12.500000" → 72.5. */
function clockSeconds(clock: string | undefined): number | null {
  const match = clock?.match(/^(-?\d+):(\d+):(\d+(?:\.\d+)?)$/);
  if (!match) return null;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds >= 0 ? seconds : null;
}

export interface StageEstimate {
  /** 0–100 of this stage. */
  percent: number;
  etaSeconds: number | null;
}

/**
 * How far a stage that processes `totalSeconds` of media is, and how long it still needs: from
 * FFmpeg's speed when it reports one, else from the wall time spent so far.
 */
export function estimateStage(
  progress: Pick<FfmpegProgress, "outTimeSeconds" | "speed" | "done">,
  totalSeconds: number,
  elapsedSeconds: number,
): StageEstimate {
  if (progress.done) return { percent: 100, etaSeconds: 0 };
  if (!(totalSeconds > 0)) return { percent: 0, etaSeconds: null };
  const fraction = Math.min(1, Math.max(0, progress.outTimeSeconds / totalSeconds));
  const remainingMedia = totalSeconds * (1 - fraction);
  let etaSeconds: number | null = null;
  if (progress.speed !== null) etaSeconds = remainingMedia / progress.speed;
  else if (fraction > 0 && elapsedSeconds > 0) etaSeconds = (elapsedSeconds * (1 - fraction)) / fraction;
  return {
    percent: Math.min(100, fraction * 100),
    etaSeconds: etaSeconds === null ? null : Math.max(0, Math.round(etaSeconds)),
  };
}

/** Maps a stage's own 0–100 onto its slice of the whole job (e.g. encoding is 2–90). */
export function overallPercent(stagePercent: number, slice: readonly [number, number]): number {
  const [from, to] = slice;
  const percent = from + ((to - from) * Math.min(100, Math.max(0, stagePercent))) / 100;
  return Math.round(percent * 10) / 10;
}

export interface Throttle<T> {
  /** Emits `value` unless one was emitted less than 1/perSecond ago; `final` always emits. */
  tick(value: T, final?: boolean): void;
}

/** At most `perSecond` ticks a second reach `emit`, plus always the final one. */
export function throttle<T>(
  emit: (value: T) => void,
  perSecond = 4,
  now: () => number = Date.now,
): Throttle<T> {
  const intervalMs = 1000 / perSecond;
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    tick(value, final = false) {
      const at = now();
      if (!final && at - lastAt < intervalMs) return;
      lastAt = at;
      emit(value);
    },
  };
}
