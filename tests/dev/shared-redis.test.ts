// The logical databases test processes take of a shared TEST_REDIS_URL (dev/services.ts): one after
// another in one process, and ranges that never meet under bun test --parallel's workers.
import { describe, expect, test } from "bun:test";
import { sharedRedisDatabase } from "../../dev/services.ts";

const taken = (env: Record<string, string>, count = 40) =>
  new Set(Array.from({ length: count }, (_, index) => sharedRedisDatabase(index, env)));

describe("a shared test Redis", () => {
  test("one process takes databases 1 to 15 in turn, never 0", () => {
    expect([0, 1, 14, 15, 16].map((index) => sharedRedisDatabase(index, {}))).toEqual([1, 2, 15, 1, 2]);
  });

  test("parallel workers take ranges of their own, within 1 to 15", () => {
    for (const workers of [2, 3, 4, 7]) {
      const ranges = Array.from({ length: workers }, (_, w) =>
        taken({ BUN_TEST_WORKER_ID: String(w + 1), TEST_PARALLEL: String(workers) }),
      );
      const all = ranges.flatMap((range) => [...range]);
      expect(new Set(all).size).toBe(all.length);
      expect(all.every((db) => db >= 1 && db <= 15)).toBe(true);
      expect(ranges.every((range) => range.size === Math.floor(15 / workers))).toBe(true);
    }
    // Without TEST_PARALLEL (bun test --parallel run by hand): as for four workers.
    expect([...taken({ BUN_TEST_WORKER_ID: "2" })].sort((a, b) => a - b)).toEqual([4, 5, 6]);
  });
});
