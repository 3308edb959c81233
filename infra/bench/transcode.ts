// `bun run bench:transcode`: the single-decode ladder (one FFmpeg for every rung) against one FFmpeg
// per rung with the same encoder settings, on a generated 1080p30 sample with motion and noise.
// Prints wall times, realtime factors, the ratio (goal ≤ 0.65 on the 2-core machine) and the SSIM of
// every rung against the scaled source for both (goal: equal within ±0.002).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLadderCommand, buildRungCommand } from "../../transcoder/ffmpeg-args.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { chooseLadder, type Rung } from "../../transcoder/ladder.ts";
import { probeSource } from "../../transcoder/probe.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PRESET = process.env.BENCH_PRESET ?? "veryfast";
const SEGMENT = 6;
const work = mkdtempSync(join(tmpdir(), "vf-bench-transcode-"));

async function run(argv: string[], what: string): Promise<number> {
  const started = performance.now();
  const result = await runProcess(argv);
  if (result.exitCode !== 0) throw new Error(`${what} failed: ${result.stderr.slice(-500)}`);
  return (performance.now() - started) / 1000;
}

/** Mean SSIM of a rendition against the source scaled the same way (bicubic, like the encoder's input). */
async function ssim(renditionPlaylist: string, source: string, rung: Rung): Promise<number> {
  const result = await runProcess([
    "ffmpeg",
    "-nostdin",
    "-hide_banner",
    "-i",
    renditionPlaylist,
    "-i",
    source,
    "-lavfi",
    `[1:v]scale=${rung.width}:${rung.height}:flags=bicubic,format=yuv420p[ref];[0:v]format=yuv420p[out];[out][ref]ssim`,
    "-f",
    "null",
    "-",
  ]);
  const match = /SSIM .*All:([\d.]+)/.exec(result.stderr);
  if (!match) throw new Error(`no SSIM for ${rung.name}: ${result.stderr.slice(-300)}`);
  return Number(match[1]);
}

interface SourceProfile {
  name: string;
  description: string;
  noise: number;
  rate: string[];
}

// Decoding the source is what the single-decode ladder saves, so the ratio depends on how costly the
// source is to decode: both a camera-like bitrate and a near-lossless mezzanine are measured.
const PROFILES: SourceProfile[] = [
  {
    name: "camera",
    description: `${SECONDS} s 1080p30, moving test pattern + noise, 16 Mb/s like a phone or camera recording`,
    noise: 8,
    rate: ["-b:v", "16M", "-maxrate", "20M", "-bufsize", "32M"],
  },
  {
    name: "mezzanine",
    description: `${SECONDS} s 1080p30, moving test pattern + heavy temporal noise, near-lossless (CRF 16)`,
    noise: 14,
    rate: ["-crf", "16"],
  },
];
const selected = (process.env.BENCH_SOURCES ?? "camera,mezzanine").split(",");

async function benchmark(profile: SourceProfile) {
  const source = join(work, `source-${profile.name}.mp4`);
  console.log(`\n=== ${profile.name}: ${profile.description}`);
  const generate = [
    ...["ffmpeg", "-nostdin", "-v", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=s=1920x1080:r=30:d=${SECONDS}`],
    ...["-f", "lavfi", "-i", `sine=f=220:d=${SECONDS}`],
    ...["-vf", `noise=alls=${profile.noise}:allf=t+u`, "-c:v", "libx264", "-preset", "veryfast"],
    ...profile.rate,
    ...["-c:a", "aac", "-b:a", "192k", "-shortest", source],
  ];
  await run(generate, "sample generation");
  const facts = await probeSource(source);
  const ladder = chooseLadder(facts);
  const input = {
    sourcePath: source,
    source: facts,
    segmentSeconds: SEGMENT,
    preset: PRESET,
    hwaccel: "none" as const,
  };
  console.log(
    `source ${facts.width}×${facts.height} @ ${facts.frameRate} fps, ${facts.durationSeconds.toFixed(1)} s, ${((facts.videoBitrate ?? 0) / 1e6).toFixed(1)} Mb/s`,
  );
  console.log(
    `ladder ${ladder.map((r) => `${r.name}@${(r.videoBitrate / 1e6).toFixed(2)}M`).join(" ")}, x264 preset ${PRESET}, ${SEGMENT} s segments\n`,
  );

  const ladderDir = join(work, `${profile.name}-ladder`);
  const perRungDir = join(work, `${profile.name}-per-rung`);
  const ladderSeconds = await run(buildLadderCommand({ ...input, outputDir: ladderDir, ladder }), "ladder");
  console.log(
    `single-decode ladder (1 FFmpeg):  ${ladderSeconds.toFixed(1)} s  realtime ×${(facts.durationSeconds / ladderSeconds).toFixed(2)}`,
  );
  let perRungSeconds = 0;
  for (const rung of ladder) {
    const seconds = await run(
      buildRungCommand({ ...input, outputDir: perRungDir, rung }),
      `rung ${rung.name}`,
    );
    perRungSeconds += seconds;
    console.log(`  one FFmpeg for ${rung.name.padEnd(6)} ${seconds.toFixed(1)} s`);
  }
  console.log(
    `one FFmpeg per rung (${ladder.length}, in turn): ${perRungSeconds.toFixed(1)} s  realtime ×${(facts.durationSeconds / perRungSeconds).toFixed(2)}`,
  );
  const ratio = ladderSeconds / perRungSeconds;
  console.log(`\nratio ladder / per-rung = ${ratio.toFixed(3)}  (goal ≤ 0.65)\n`);

  console.log("SSIM against the scaled source     ladder   per-rung   Δ");
  let worstDelta = 0;
  for (const rung of ladder) {
    const a = await ssim(join(ladderDir, rung.name, "index.m3u8"), source, rung);
    const b = await ssim(join(perRungDir, rung.name, "index.m3u8"), source, rung);
    worstDelta = Math.max(worstDelta, Math.abs(a - b));
    console.log(`  ${rung.name.padEnd(33)} ${a.toFixed(4)}   ${b.toFixed(4)}   ${(a - b).toFixed(4)}`);
  }
  console.log(`\nlargest SSIM difference ${worstDelta.toFixed(4)} (goal ≤ 0.002)`);
  return { ratio, worstDelta };
}

try {
  const outcomes = [];
  for (const profile of PROFILES.filter((p) => selected.includes(p.name))) {
    outcomes.push({ name: profile.name, ...(await benchmark(profile)) });
  }
  console.log("\n=== summary");
  for (const outcome of outcomes) {
    console.log(
      `  ${outcome.name.padEnd(10)} ratio ${outcome.ratio.toFixed(3)} (goal ≤ 0.65)   largest SSIM Δ ${outcome.worstDelta.toFixed(4)} (goal ≤ 0.002)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
