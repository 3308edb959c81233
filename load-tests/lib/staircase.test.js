// The staircase of streaming.js (lib/config.js staircase: what bench:viewers climbs), run under bun
// test: its k6 stages, the length of each step and which level a moment of the run belongs to.
import { expect, test } from "bun:test";

globalThis.__ENV = {};
const { staircase } = await import("./config.js");

const withEnv = (env, body) => {
  globalThis.__ENV = env;
  try {
    return body();
  } finally {
    globalThis.__ENV = {};
  }
};

test("no LEVELS, no staircase", () => {
  expect(staircase()).toBeNull();
});

test("each level joins at JOIN_PER_SECOND, then holds STEP_HOLD_SECONDS", () => {
  const stairs = withEnv(
    { LEVELS: "250,500,600", JOIN_PER_SECOND: "25", STEP_HOLD_SECONDS: "30" },
    staircase,
  );
  expect(stairs.stages).toEqual([
    { duration: "10s", target: 250 },
    { duration: "30s", target: 250 },
    { duration: "10s", target: 500 },
    { duration: "30s", target: 500 },
    { duration: "4s", target: 600 },
    { duration: "30s", target: 600 },
  ]);
  expect(stairs.stepSeconds).toEqual([40, 40, 34]);
  expect(stairs.totalMs).toBe(114_000);
});

test("a moment belongs to the level whose join or hold it falls in", () => {
  const stairs = withEnv({ LEVELS: "250,500", JOIN_PER_SECOND: "25", STEP_HOLD_SECONDS: "30" }, staircase);
  expect(stairs.levelAt(0)).toBe(250);
  expect(stairs.levelAt(39_999)).toBe(250);
  expect(stairs.levelAt(40_000)).toBe(500); // joining 250 → 500 is level 500
  expect(stairs.levelAt(79_999)).toBe(500);
  expect(stairs.levelAt(95_000)).toBe(500); // graceful stop: still the last level
});

test("levels must rise", () => {
  expect(() => withEnv({ LEVELS: "500,250" }, staircase)).toThrow("LEVELS");
  expect(() => withEnv({ LEVELS: "250,abc" }, staircase)).toThrow("LEVELS");
});
