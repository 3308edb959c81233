import { expect, test } from "bun:test";
import { PeriodicSweep } from "./periodic-sweep.ts";

/** A sweep that runs until the test lets it finish. */
function gatedSweep() {
  const runs: Array<() => void> = [];
  const sweep = new PeriodicSweep(
    () => new Promise<number>((resolve) => runs.push(() => resolve(runs.length))),
    () => {},
  );
  return { sweep, runs };
}

test("one run at a time: a run asked for while one is in progress gets that one's result", async () => {
  const { sweep, runs } = gatedSweep();
  const first = sweep.now();
  const second = sweep.now();
  expect(runs).toHaveLength(1);
  runs[0]!();
  expect(await first).toBe(1);
  expect(await second).toBe(1);
  const third = sweep.now();
  expect(runs).toHaveLength(2);
  runs[1]!();
  expect(await third).toBe(2);
});

test("stop waits for the run in progress", async () => {
  const { sweep, runs } = gatedSweep();
  sweep.start(3600_000);
  void sweep.now();
  let stopped = false;
  const stopping = sweep.stop().then(() => {
    stopped = true;
  });
  await Bun.sleep(20);
  expect(stopped).toBe(false);
  runs[0]!();
  await stopping;
  expect(stopped).toBe(true);
});
