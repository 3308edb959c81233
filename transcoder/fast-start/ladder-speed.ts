// The ladder's speed on this host's GPU, measured once at start-up on a generated 1080p30 clip with
// motion and noise: what `FAST_START=auto` decides by (decision.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLadderCommand } from "../ffmpeg-args.ts";
import { runProcess } from "../ffmpeg-process.ts";
import type { HwAccelMode } from "../hwaccel/modes.ts";
import { chooseLadder } from "../ladder.ts";
import { probeSource } from "../probe.ts";

const CLIP_SECONDS = 6;
const TIMEOUT_MS = 120_000;

/** × real time of the whole ladder for a 1080p30 source, or null when the measurement failed. */
export async function measureLadderSpeed(options: {
  hwaccel: HwAccelMode;
  ladderHeights: readonly number[];
  segmentSeconds: number;
  preset: string;
}): Promise<number | null> {
  const dir = await mkdtemp(join(tmpdir(), "ladder-speed-"));
  try {
    const clip = join(dir, "clip.mp4");
    const made = await runProcess(
      [
        ...["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "lavfi"],
        ...["-i", `testsrc2=s=1920x1080:r=30:d=${CLIP_SECONDS},noise=alls=20:allf=t`],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip],
      ],
      { timeoutMs: TIMEOUT_MS },
    );
    if (made.exitCode !== 0) return null;
    const source = await probeSource(clip);
    const outputDir = join(dir, "out");
    const argv = buildLadderCommand({
      sourcePath: clip,
      outputDir,
      source,
      ladder: chooseLadder(source, { heights: options.ladderHeights }),
      segmentSeconds: options.segmentSeconds,
      preset: options.preset,
      hwaccel: options.hwaccel,
    }).filter((arg, i, all) => arg !== "-progress" && all[i - 1] !== "-progress" && arg !== "-nostats");
    const startedAt = performance.now();
    const encoded = await runProcess(argv, { timeoutMs: TIMEOUT_MS });
    const seconds = (performance.now() - startedAt) / 1000;
    return encoded.exitCode === 0 && seconds > 0 ? CLIP_SECONDS / seconds : null;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
