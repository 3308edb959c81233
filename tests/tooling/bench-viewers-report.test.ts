// bench:viewers' verdict (infra/bench/viewers-report.ts) from k6 summaries of a staircase: a level passes
// when it was reached and every threshold of it held, and a side holds the largest level up to which
// every level passed, whatever happened above.
import { expect, test } from "bun:test";
import { heldLevel, levelFigures, type Summary } from "../../infra/bench/viewers-report.ts";

/** A summary as streaming.js writes one on a staircase: submetrics per level, each with its thresholds. */
function summaryOf(
  levels: Record<number, { segments: number; rebuffers?: number; ratioOk?: boolean }>,
): Summary {
  const metrics: Summary["metrics"] = {};
  for (const [level, figures] of Object.entries(levels)) {
    const rebuffers = figures.rebuffers ?? 0;
    metrics[`segments{level:${level}}`] = {
      values: { count: figures.segments },
      thresholds: { "count>=0": { ok: true } },
    };
    metrics[`rebuffer_events{level:${level}}`] = {
      values: { count: rebuffers },
      thresholds: { "count<=0": { ok: rebuffers === 0 } },
    };
    metrics[`segment_download_ratio{level:${level}}`] = {
      values: { "p(95)": figures.ratioOk === false ? 0.31 : 0.01 },
      thresholds: { "p(95)<0.2": { ok: figures.ratioOk !== false } },
    };
    metrics[`errors{level:${level}}`] = { values: { rate: 0 }, thresholds: { "rate<0.001": { ok: true } } };
    metrics[`time_to_first_segment{level:${level}}`] = {
      values: { "p(95)": 40 },
      thresholds: { "p(95)<2000": { ok: true } },
    };
  }
  const levelList = Object.keys(levels).map(Number);
  return { metrics, staircase: { levels: levelList, step_seconds: levelList.map(() => 40) } };
}

test("a rebuffer fails its level and ends what the side holds; unreached levels are marked so", () => {
  const figures = levelFigures(
    summaryOf({ 250: { segments: 4000 }, 500: { segments: 8000, rebuffers: 3 }, 750: { segments: 0 } }),
  );
  expect(figures.map((level) => level.result)).toEqual(["pass", "FAIL", "not reached"]);
  expect(figures[0]!.segmentsPerSecond).toBe(100);
  // The climb stopped inside 500's step: no rate over a step it did not finish.
  expect(figures[1]!.segmentsPerSecond).toBeNaN();
  expect(heldLevel(figures)).toBe(250);
});

test("a failed p95 fails the level even without a rebuffer, and a pass above it does not count", () => {
  const figures = levelFigures(
    summaryOf({ 250: { segments: 4000 }, 500: { segments: 8000, ratioOk: false }, 750: { segments: 9000 } }),
  );
  expect(figures.map((level) => level.result)).toEqual(["pass", "FAIL", "pass"]);
  expect(heldLevel(figures)).toBe(250);
});

test("no level held is 0, every level held is the top one", () => {
  expect(heldLevel(levelFigures(summaryOf({ 250: { segments: 10, rebuffers: 1 } })))).toBe(0);
  expect(heldLevel(levelFigures(summaryOf({ 250: { segments: 10 }, 500: { segments: 20 } })))).toBe(500);
});

test("a summary without a staircase is refused", () => {
  expect(() => levelFigures({ metrics: {} })).toThrow("staircase");
});
