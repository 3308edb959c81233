// `bun run bench:remux`: what the progressive MP4s cost next to the ladder they are copied from. A
// generated 1080p30 sample with sound goes through the whole pipeline (the production preset, every
// rung); the remuxing stage's wall time is read from the pipeline's own progress ticks, and the remux of
// every rung is then repeated on its own a few times. Prints both and the ratio to the ladder encode
// (the issue's goal: under a tenth), and the MP4s' sizes against their HLS. A figure, never a test.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { remuxRung } from "../../transcoder/hls/progressive-mp4.ts";
import { type PipelineProgress, transcode } from "../../transcoder/pipeline.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PRESET = process.env.BENCH_PRESET ?? "veryfast";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const work = mkdtempSync(join(tmpdir(), "vf-bench-remux-"));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  console.log(
    `bench:remux: ${SECONDS} s 1080p30 with stereo sound, preset ${PRESET}, ${ROUNDS} remux rounds`,
  );
  const sourcePath = await generateVideo(join(work, "source.mp4"), {
    seconds: SECONDS,
    width: 1920,
    height: 1080,
    fps: 30,
    audio: "stereo",
  });
  const outputDir = join(work, "out");
  // When each stage began, by the pipeline's own ticks (every stage's first tick is sent at once).
  const began = new Map<PipelineProgress["stage"], number>();
  const result = await transcode({
    sourcePath,
    outputDir,
    preset: PRESET,
    thumbnails: false,
    onProgress: (tick) => {
      if (!began.has(tick.stage)) began.set(tick.stage, performance.now());
    },
  });
  const finished = performance.now();
  const at = (stage: PipelineProgress["stage"]) => {
    const time = began.get(stage);
    if (time === undefined) throw new Error(`no ${stage} tick`);
    return time;
  };
  const ladderSeconds = (at("verifying") - at("encoding")) / 1000;
  // Without thumbnails the last tick ("thumbnails", 100 %) comes right after the remux.
  const inJobSeconds = ((began.get("thumbnails") ?? finished) - at("remuxing")) / 1000;

  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (const rendition of result.renditions) {
      await remuxRung(join(outputDir, rendition.name), join(work, `again-${rendition.name}.mp4`), {
        audio: true,
        frameRate: rendition.frameRate,
      });
    }
    rounds.push((performance.now() - started) / 1000);
  }
  const alone = median(rounds);

  console.log(`ladder encode (${result.renditions.length} rungs): ${ladderSeconds.toFixed(2)} s`);
  console.log(`remux of every rung, in the job: ${inJobSeconds.toFixed(2)} s`);
  console.log(`remux of every rung, alone (median of ${ROUNDS}): ${alone.toFixed(2)} s`);
  console.log(
    `ratio remux / ladder: ${(inJobSeconds / ladderSeconds).toFixed(3)} in the job, ${(alone / ladderSeconds).toFixed(3)} alone (goal < 0.100)`,
  );
  for (const rendition of result.renditions) {
    const folder = join(outputDir, rendition.name);
    const hlsBytes = readdirSync(folder)
      .filter((name) => name.endsWith(".ts"))
      .reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
    const mp4Bytes = rendition.mp4?.size ?? 0;
    console.log(
      `  ${rendition.name.padStart(5)}: MP4 ${(mp4Bytes / 1024 ** 2).toFixed(2)} MiB, HLS segments ${(hlsBytes / 1024 ** 2).toFixed(2)} MiB (${((mp4Bytes / hlsBytes) * 100).toFixed(1)} %)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
