// A media volume that fills up during a transcode: a real 32 MiB tmpfs as MEDIA_ROOT, so FFmpeg's writes
// fail with the kernel's ENOSPC (and FFmpeg 5.1 exits 0 anyway). While the disk stays full the worker
// spends no attempt and takes no job; once space is back the job finishes. A job that alone needs more
// than the free space spends its attempts and ends with "the media storage is full".
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNoSpace } from "../../storage/no-space.ts";
import { ADMIN_ENV, adminClient, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  type InProcessTranscoder,
  startInProcessTranscoder,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { entriesOf } from "../support/media-root.ts";
import { waitForProcess } from "../support/processes.ts";
import { linesSaying, mountSmallDisk, type SmallDisk } from "../support/small-disk.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const MiB = 1024 * 1024;

let scratch: string;
let disk: SmallDisk | undefined;
let mountPoint: string;
let api: TestApi;
let admin: Client;
let worker: InProcessTranscoder | undefined;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vf-disk-full-src-"));
  disk = mountSmallDisk("transcode-disk-full");
  mountPoint = disk.path;
  api = await startTestApi({
    ...ADMIN_ENV,
    MEDIA_ROOT: mountPoint,
    TRANSCODE_ATTEMPTS: "3",
    TRANSCODE_BACKOFF_SECONDS: "1",
  });
  admin = await adminClient(api);
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  for (const name of ["filler.bin", "too-big.bin"]) rmSync(join(mountPoint, name), { force: true });
});

afterAll(async () => {
  await api?.stop();
  disk?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const filler = () => join(mountPoint, "filler.bin");
const freeBytes = () => disk!.freeBytes();

// The worker main.ts runs, started in this process: what it does with a full disk is the subject here.
const startWorker = async (name: string) => {
  worker = await startInProcessTranscoder(api, name, {
    TRANSCODER_MIN_FREE_MB: "1",
    TRANSCODER_SPACE_POLL_SECONDS: "1",
  });
  return worker;
};

const HANDED_BACK = "job handed back uncounted: the media storage is full";

test("filled by others mid-transcode: readable, no attempt spent, no job taken, done once space is back", async () => {
  const transcoder = await startWorker("disk-full");
  // A 720p ladder of about 3 MiB.
  const created = await uploadFile(api, admin, await farmSource(scratch, "clip.mp4", 6, 1280, 720));
  // The ladder's FFmpeg, frozen for a moment while something else takes all but 64 KiB of the disk.
  const ffmpeg = await waitForProcess("ffmpeg", `${mountPoint}/.staging/`);
  process.kill(ffmpeg, "SIGSTOP");
  writeFileSync(filler(), new Uint8Array(freeBytes() - 64 * 1024));
  process.kill(ffmpeg, "SIGCONT");

  const handedBack = await eventually(
    "the job handed back for want of space",
    async () => linesSaying(transcoder.logs(), HANDED_BACK)[0],
    90_000,
  );
  expect(handedBack).toMatchObject({ attempt: 1, reason: "the media storage is full" });
  // FFmpeg said nothing and exited 0: the file system told. Nothing half-written stays behind.
  expect(linesSaying(transcoder.logs(), "the output file system filled up during the encode")).toHaveLength(
    1,
  );
  expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);
  expect(
    linesSaying(transcoder.logs(), "the media storage is full: not taking jobs until space is back"),
  ).toHaveLength(1);

  // While there is no space the worker claims nothing, and the api is told nothing.
  const claims = linesSaying(transcoder.logs(), "job claimed").length;
  await Bun.sleep(3000);
  expect(linesSaying(transcoder.logs(), "job claimed")).toHaveLength(claims);
  const waiting = await getVideo(admin, created.id);
  expect(waiting.processing_error).toBeNull();
  expect(waiting.processing_state).not.toBe("error");

  rmSync(filler());
  const ready = await untilState(admin, created.id, "ready");
  expect(ready.processing_error).toBeNull();
  // The attempt that ran out of space was not counted: the one that finished is still attempt 1.
  expect(linesSaying(transcoder.logs(), "job ready")).toMatchObject([{ attempt: 1 }]);
  expect(linesSaying(transcoder.logs(), "job attempt failed")).toEqual([]);
  expect(linesSaying(transcoder.logs(), "media storage has space again: taking jobs")).toHaveLength(1);
}, 180_000);

test("already full when a job comes: handed back before any work, taken again once space is back", async () => {
  const created = await uploadFile(api, admin, await farmSource(scratch, "short.mp4", 2, 640, 360));
  writeFileSync(filler(), new Uint8Array(freeBytes() - 512 * 1024));
  // Our own writes' ENOSPC is recognised too (the worker's statfs check is the other way in).
  const refused = await writeFile(join(mountPoint, "too-big.bin"), new Uint8Array(MiB)).catch(
    (error: unknown) => error,
  );
  expect(isNoSpace(refused)).toBe(true);
  rmSync(join(mountPoint, "too-big.bin"), { force: true });

  const transcoder = await startWorker("disk-full-early");
  await eventually(
    "the job handed back at its claim",
    async () => linesSaying(transcoder.logs(), HANDED_BACK)[0],
    60_000,
  );
  // Nothing was probed or encoded, and the api was not told anything.
  expect(linesSaying(transcoder.logs(), "source probed, ladder chosen")).toEqual([]);
  expect((await getVideo(admin, created.id)).processing_error).toBeNull();

  rmSync(filler());
  await untilState(admin, created.id, "ready");
  expect(linesSaying(transcoder.logs(), "job ready")).toMatchObject([{ attempt: 1 }]);
}, 120_000);

test("a job that alone needs more than the free space spends its attempts, and only the last one tells the api", async () => {
  const created = await uploadFile(api, admin, await farmSource(scratch, "large.mp4", 6, 1280, 720));
  // 1.5 MiB left: above the 1 MiB headroom, below the ladder's 3 MiB.
  writeFileSync(filler(), new Uint8Array(freeBytes() - 1.5 * MiB));
  const transcoder = await startWorker("disk-too-small");

  const first = await eventually(
    "the first attempt failed",
    async () => linesSaying(transcoder.logs(), "job attempt failed")[0],
    90_000,
  );
  expect(first).toMatchObject({ attempt: 1, err: { message: "the media storage is full" } });
  // A retry follows: the api is not told yet.
  expect((await getVideo(admin, created.id)).processing_error).toBeNull();

  const failed = await untilState(admin, created.id, "error", 120_000);
  expect(failed.processing_error).toBe("Transcoding failed after 3 attempts: the media storage is full");
  expect(linesSaying(transcoder.logs(), "job attempt failed").map((line) => line.attempt)).toEqual([1, 2, 3]);
  expect(linesSaying(transcoder.logs(), HANDED_BACK)).toEqual([]);
  expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);
}, 240_000);
