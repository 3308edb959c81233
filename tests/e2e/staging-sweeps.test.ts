// A running transcoder (the worker `bun transcoder/main.ts` runs, here in the test process) sweeps
// staging every STORAGE_SWEEP_INTERVAL_SECONDS: an attempt's folders go as soon as the job's lock no
// longer holds the attempt's token (its worker died, the job failed on the stall limit, another attempt
// took it over), a live attempt's stay whatever their age, folders no label explains go by age, and
// uploads are left to the api. Its /metrics count it all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { freePort } from "../../dev/services.ts";
import { LocalMediaStorage } from "../../storage/index.ts";
import { attemptLabel } from "../../transcoder/attempt.ts";
import { StagingSweeper } from "../../transcoder/staging-sweeper.ts";
import { eventually } from "../support/eventually.ts";
import { type InProcessTranscoder, startInProcessTranscoder } from "../support/farm.ts";
import { sample } from "../support/metrics.ts";
import { startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let transcoder: InProcessTranscoder | undefined;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await transcoder?.stop();
  await api?.stop();
});

const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;

function plant(label: string, bytes: number, ageMs: number): string {
  const dir = join(api.config.mediaRoot, ".staging", `${label}--${crypto.randomUUID()}`);
  mkdirSync(join(dir, "360p"), { recursive: true });
  writeFileSync(join(dir, "360p", "seg_00000.ts"), new Uint8Array(bytes));
  const then = new Date(Date.now() - ageMs);
  for (const path of [join(dir, "360p", "seg_00000.ts"), join(dir, "360p"), dir])
    utimesSync(path, then, then);
  return dir;
}

test("dead attempts' staging goes while the worker runs, live ones stay; /metrics count what went", async () => {
  const lockOf = (jobId: string) => `bull:transcode:${jobId}:lock`;
  // A live attempt on another worker: the job's lock holds its token.
  await api.redis.set(lockOf("video-1-r1"), "live-token", "PX", 10 * 60_000);
  const live = plant(attemptLabel({ jobId: "video-1-r1", token: "live-token" }, "output"), 100, 2 * HOUR_MS);
  // Taken over: the lock now holds another attempt's token.
  await api.redis.set(lockOf("video-2-r1"), "new-token", "PX", 10 * 60_000);
  const takenOver = plant(
    attemptLabel({ jobId: "video-2-r1", token: "old-token" }, "output"),
    2000,
    MINUTE_MS,
  );
  // Its worker was killed and the job failed on the stall limit: no lock at all.
  const stalledOut = plant(
    attemptLabel({ jobId: "video-3-r1", token: "dead-token" }, "source"),
    3000,
    MINUTE_MS,
  );
  // No label explains these: an older version's attempt, and one of a few minutes ago.
  const stale = plant("video-4-r1", 5000, 2 * HOUR_MS);
  const recent = plant("video-5-r1", 100, MINUTE_MS);
  // The api's, whatever its age.
  const upload = plant("upload-0badf00d", 100, 2 * HOUR_MS);

  const port = await freePort();
  transcoder = await startInProcessTranscoder(api, "sweeping", {
    STORAGE_SWEEP_INTERVAL_SECONDS: "1",
    TRANSCODER_METRICS_PORT: String(port),
  });
  await eventually(
    "the worker's sweeps to remove the dead attempts' and the stale staging",
    async () => ![takenOver, stalledOut, stale].some(existsSync),
    30_000,
  );
  for (const kept of [live, recent, upload]) expect(existsSync(kept)).toBe(true);

  // Later leftovers go too: the sweep runs periodically, not only at start.
  const later = plant(attemptLabel({ jobId: "video-6-r1", token: "gone-token" }, "output"), 700, MINUTE_MS);
  await eventually("the next sweep", async () => !existsSync(later), 15_000);
  await api.redis.del(lockOf("video-1-r1")); // the live attempt ended without cleaning up
  await eventually("the sweep after its lock went", async () => !existsSync(live), 15_000);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const of = (name: string, kind: string) => sample(metrics, name, { worker: "sweeping", kind });
  expect(of("storage_reclaimed_items_total", "attempt_staging")).toBe(4);
  expect(of("storage_reclaimed_bytes_total", "attempt_staging")).toBe(2000 + 3000 + 700 + 100);
  expect(of("storage_reclaimed_items_total", "stale_staging")).toBe(1);
  expect(of("storage_reclaimed_bytes_total", "stale_staging")).toBe(5000);
}, 60_000);

test("a dead attempt's folder that is still being written stays (its FFmpeg runs on a cut-off host), as do running ones", async () => {
  const sweeper = new StagingSweeper({
    storage: new LocalMediaStorage(api.config.mediaRoot),
    redis: api.redis,
    lockKeyOf: (jobId) => `bull:transcode:${jobId}:lock`,
    isRunning: (path) => path === running,
    quietMs: MINUTE_MS,
    maxIdleMs: HOUR_MS,
    log: pino({ level: "silent" }),
  });
  const stillWritten = plant(attemptLabel({ jobId: "video-7-r1", token: "lost-token" }, "output"), 10, 0);
  const quiet = plant(
    attemptLabel({ jobId: "video-7-r1", token: "older-token" }, "output"),
    20,
    2 * MINUTE_MS,
  );
  const running = plant(attemptLabel({ jobId: "video-8-r1", token: "mine" }, "output"), 30, 2 * MINUTE_MS);
  const swept = await sweeper.sweep();
  expect(swept.attempt_staging).toEqual({ items: 1, bytes: 20 });
  expect([stillWritten, quiet, running].map(existsSync)).toEqual([true, false, true]);
});
