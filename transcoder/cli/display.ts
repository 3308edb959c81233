// What `bun run transcode` shows a person: progress while it runs, a table of the renditions after.
import { join } from "node:path";
import type { TranscodeResult } from "../../contract/media.ts";
import type { PipelineProgress } from "../pipeline.ts";

/** Where progress goes: a terminal (isTTY) gets a bar redrawn in place. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;

/** A one-line bar redrawn in place on a terminal; a plain line per stage and per 10% otherwise. */
export function progressDisplay(stream: ProgressStream) {
  const tty = Boolean(stream.isTTY);
  let lastStage = "";
  let lastDecile = -1;
  return {
    show(tick: PipelineProgress) {
      const percent = `${tick.percent.toFixed(1).padStart(5)}%`;
      const speed = tick.speed ? `${tick.speed.toFixed(2)}x` : "";
      const eta = tick.etaSeconds !== null ? `ETA ${clock(tick.etaSeconds)}` : "";
      if (tty) {
        const filled = Math.round((tick.percent / 100) * BAR_WIDTH);
        const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
        stream.write(`\r\x1b[2K${bar} ${tick.stage.padEnd(10)} ${percent} ${speed.padStart(7)} ${eta}`);
        return;
      }
      const decile = Math.floor(tick.percent / 10);
      if (tick.stage === lastStage && decile === lastDecile) return;
      lastStage = tick.stage;
      lastDecile = decile;
      stream.write(`${tick.stage} ${percent} ${speed} ${eta}`.trimEnd().concat("\n"));
    },
    /** Ends the bar's line, so that what follows starts on a line of its own. */
    end() {
      if (tty) stream.write("\n");
    },
  };
}

export function summary(result: TranscodeResult, outputDir: string, wallSeconds: number): string {
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

/** m:ss */
export function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}
