// The attempt's own clock on its lock: stopped once a whole lock duration went by without a renewal
// that succeeded, never before, and once only. A hand-set clock; the real timer is used by the worker
// (tests/transcoder/lock-takeover.test.ts cuts a worker off from Redis).
import { expect, test } from "bun:test";
import { LockWatchdog } from "../../transcoder/lock-watchdog.ts";

function watchdogAt(start: number) {
  let now = start;
  const lapsed: Array<[string, number]> = [];
  const watchdog = new LockWatchdog({
    lockDurationMs: 2000,
    onLapsed: (jobId, silentMs) => lapsed.push([jobId, silentMs]),
    now: () => now,
  });
  return { watchdog, lapsed, advance: (ms: number) => (now += ms) };
}

test("renewals keep an attempt going; a lock duration without one stops it, once", () => {
  const { watchdog, lapsed, advance } = watchdogAt(1_000_000);
  watchdog.watch("video-1-r1");
  for (let step = 0; step < 5; step++) {
    advance(1000);
    watchdog.renewed("video-1-r1");
    watchdog.check();
  }
  expect(lapsed).toEqual([]);
  advance(1999);
  watchdog.check();
  expect(lapsed).toEqual([]);
  advance(1);
  watchdog.check();
  expect(lapsed).toEqual([["video-1-r1", 2000]]);
  advance(5000);
  watchdog.check();
  expect(lapsed).toHaveLength(1);
  watchdog.stop();
});

test("each attempt has its own clock; an ended attempt is never stopped", () => {
  const { watchdog, lapsed, advance } = watchdogAt(0);
  watchdog.watch("video-1-r1");
  advance(1500);
  watchdog.watch("video-2-r1");
  watchdog.watch("video-3-r1");
  watchdog.unwatch("video-3-r1");
  advance(600);
  watchdog.renewed("video-3-r1");
  watchdog.check();
  expect(lapsed).toEqual([["video-1-r1", 2100]]);
  advance(1400);
  watchdog.check();
  expect(lapsed).toEqual([
    ["video-1-r1", 2100],
    ["video-2-r1", 2000],
  ]);
  watchdog.stop();
});
