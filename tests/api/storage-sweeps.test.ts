// The api sweeps while it runs (STORAGE_SWEEP_INTERVAL_SECONDS), not only when it starts: the staging
// of uploads that will never finish (an api killed mid-upload, a request that hung) goes once nothing
// wrote to it for STAGING_MAX_IDLE_SECONDS, and /metrics counts what was reclaimed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { systemClock } from "../../api/shared/clock.ts";
import { StorageSweeper } from "../../api/videos/storage-sweeper.ts";
import { eventually } from "../support/eventually.ts";
import { sample } from "../support/metrics.ts";
import { startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ STORAGE_SWEEP_INTERVAL_SECONDS: "1", STAGING_MAX_IDLE_SECONDS: "600" });
});
afterAll(async () => {
  await api?.stop();
});

function plant(label: string, bytes: number, ageMs: number): string {
  const dir = join(api.config.mediaRoot, ".staging", `${label}--${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "object"), new Uint8Array(bytes));
  const then = new Date(Date.now() - ageMs);
  utimesSync(join(dir, "object"), then, then);
  utimesSync(dir, then, then);
  return dir;
}

const reclaimed = async (name: string) =>
  sample(await (await fetch(`${api.url}/metrics`)).text(), name, { kind: "upload_staging" });

test("abandoned upload staging goes on the periodic sweep and is counted; a fresh one stays", async () => {
  expect(await reclaimed("storage_reclaimed_items_total")).toBe(0);
  const killedMidUpload = plant("upload-0badf00d", 4096, 3600_000);
  const hung = plant("upload-0badf00d", 1024, 1200_000);
  const inFlight = plant("upload-0badf00d", 512, 0);
  // The sweep counts what it removed once it has gone through the staging, a moment after the last
  // folder went: the wait covers both.
  await eventually(
    "the periodic sweep to remove the abandoned uploads and count them",
    async () =>
      !existsSync(killedMidUpload) &&
      !existsSync(hung) &&
      ((await reclaimed("storage_reclaimed_items_total")) ?? 0) >= 2,
    15_000,
  );
  expect(existsSync(inFlight)).toBe(true);
  expect(await reclaimed("storage_reclaimed_items_total")).toBe(2);
  expect(await reclaimed("storage_reclaimed_bytes_total")).toBe(4096 + 1024);
});

test("stopping the sweeper waits for a sweep in progress (the runtime closes the database next)", async () => {
  const sweeper = new StorageSweeper({
    db: api.database.db,
    storage: api.runtime.storage,
    clock: systemClock,
    log: pino({ level: "silent" }),
    treeGraceSeconds: null,
    stagingMaxIdleSeconds: 600,
  });
  const abandoned = plant("upload-0badf00d", 256, 3600_000);
  let finished = false;
  const sweep = sweeper.sweep().then((outcome) => {
    finished = true;
    return outcome;
  });
  await sweeper.stop();
  expect(finished).toBe(true);
  expect((await sweep).uploads).toBe(1);
  expect(existsSync(abandoned)).toBe(false);
});
