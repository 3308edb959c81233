// The figures of `bench:viewers` from the k6 summaries of its two staircases (load-tests/streaming.js
// with LEVELS): per level and side, whether every threshold held, then the largest level each side held
// (every level up to it passed) and the ratio of ours to the baseline's (goal ≥ 0.9).
//
//   bun infra/bench/viewers-report.ts <ours summary.json> <baseline summary.json>
//
// The staircase's levels and step lengths are in each summary (streaming.js's handleSummary); k6 CPU
// seconds of each side come from OURS_K6_CPU / BASELINE_K6_CPU.

const GOAL = 0.9;

interface Metric {
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}
export type Summary = {
  metrics: Record<string, Metric>;
  staircase?: { levels: number[]; step_seconds: number[] };
};

export interface LevelFigures {
  level: number;
  /** reached: some viewer played at this level; pass: reached and every threshold held. */
  result: "pass" | "FAIL" | "not reached";
  rebuffers: number;
  errorRate: number;
  segmentRatioP95: number;
  firstSegmentP95Ms: number;
  /** Over the level's whole step; NaN where the run stopped inside it. */
  segmentsPerSecond: number;
  /** The mean BANDWIDTH of the rungs segments came from: what quality the viewers got. */
  meanRungKbps: number;
}

/** One side's levels, in order, from the k6 summary of a staircase run. */
export function levelFigures(summary: Summary): LevelFigures[] {
  if (!summary.staircase) throw new Error("not the summary of a staircase run (streaming.js with LEVELS)");
  const { levels, step_seconds: stepSeconds } = summary.staircase;
  const reachedLevel = (level: number | undefined) =>
    (summary.metrics[`segments{level:${level}}`]?.values.count ?? 0) > 0;
  return levels.map((level, i) => {
    const metric = (name: string) => summary.metrics[`${name}{level:${level}}`];
    const value = (name: string, key: string) => metric(name)?.values[key] ?? Number.NaN;
    const segments = value("segments", "count");
    const reached = segments > 0;
    // The run ended inside this step (a rebuffer aborts it): a rate over the whole step would be too low.
    const cutShort = reached && i < levels.length - 1 && !reachedLevel(levels[i + 1]);
    const thresholdsHeld = [
      "errors",
      "rebuffer_events",
      "segment_download_ratio",
      "time_to_first_segment",
    ].every((name) => Object.values(metric(name)?.thresholds ?? {}).every((threshold) => threshold.ok));
    return {
      level,
      result: !reached ? "not reached" : thresholdsHeld ? "pass" : "FAIL",
      rebuffers: value("rebuffer_events", "count") || 0,
      errorRate: value("errors", "rate"),
      segmentRatioP95: value("segment_download_ratio", "p(95)"),
      firstSegmentP95Ms: value("time_to_first_segment", "p(95)"),
      segmentsPerSecond: reached && !cutShort ? segments / stepSeconds[i]! : Number.NaN,
      meanRungKbps: value("rung_bandwidth", "avg") / 1e3,
    };
  });
}

/** The largest level such that it and every level below it passed; 0 when the first did not. */
export function heldLevel(figures: LevelFigures[]): number {
  let held = 0;
  for (const level of figures) {
    if (level.result !== "pass") break;
    held = level.level;
  }
  return held;
}

function table(name: string, figures: LevelFigures[], cpu: string): string {
  const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
  const rows = figures
    .filter((level) => level.result !== "not reached")
    .map((level) =>
      [
        level.level,
        level.result,
        level.rebuffers,
        `${fixed(100 * level.errorRate, 3)} %`,
        fixed(level.segmentRatioP95, 3),
        `${fixed(level.firstSegmentP95Ms, 0)} ms`,
        fixed(level.segmentsPerSecond, 0),
        fixed(level.meanRungKbps, 0),
      ].join(" | "),
    );
  return [
    `${name} (k6 CPU ${cpu} s)`,
    "| viewers | result | rebuffers | errors | segment time p95 / duration | first segment p95 | segments/s | mean rung kb/s |",
    "| ------: | ------ | --------: | -----: | --------------------------: | ----------------: | ---------: | -------------: |",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

if (import.meta.main) {
  const [oursFile, baselineFile] = process.argv.slice(2);
  if (!oursFile || !baselineFile) {
    console.error("usage: bun infra/bench/viewers-report.ts <ours summary.json> <baseline summary.json>");
    process.exit(2);
  }
  const ours = levelFigures(await Bun.file(oursFile).json());
  const baseline = levelFigures(await Bun.file(baselineFile).json());
  console.log(`\n${table("ours: the stack behind the edge", ours, process.env.OURS_K6_CPU ?? "?")}\n`);
  console.log(
    `${table("baseline: plain nginx, same files, no checks", baseline, process.env.BASELINE_K6_CPU ?? "?")}\n`,
  );
  const oursHeld = heldLevel(ours);
  const baselineHeld = heldLevel(baseline);
  const top = baseline.at(-1)!.level;
  console.log(
    `largest level with no rebuffering and every threshold held: ours ${oursHeld}, baseline ${baselineHeld}`,
  );
  if (baselineHeld === 0) {
    console.log("the baseline held no level: no ratio (try smaller BENCH_LEVELS)");
  } else {
    const ratio = oursHeld / baselineHeld;
    console.log(
      `ours / baseline = ${oursHeld} / ${baselineHeld} = ${ratio.toFixed(2)} — goal ≥ ${GOAL}: ${ratio >= GOAL ? "met" : "NOT met"}`,
    );
  }
  if (baselineHeld === top)
    console.log(`the baseline held every level up to ${top}: its limit is higher (raise BENCH_MAX_LEVEL)`);
}
