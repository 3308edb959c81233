// A media volume that fills up during a transcode: a real 32 MiB tmpfs as MEDIA_ROOT, so FFmpeg's writes
// fail with the kernel's ENOSPC (and FFmpeg exits 0 anyway). The worker must say "the media storage is
// full", not spend the job's attempts, wait for space, and finish the job once space is back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNoSpace } from "../../transcoder/storage-space.ts";
import { ADMIN_ENV, adminClient, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { farmSource, startTranscoder, untilState, uploadFile } from "../support/farm.ts";
import { entriesOf } from "../support/media-root.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const MiB = 1024 * 1024;

let scratch: string;
let mountPoint: string;
let mounted = false;
let api: TestApi;
let admin: Client;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vf-disk-full-src-"));
  mountPoint = mkdtempSync(join(tmpdir(), "vf-disk-full-"));
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", mountPoint]);
  if (mount.exitCode !== 0) {
    // No silent skip: a run without the small file system has not tested the full-disk path.
    throw new Error(
      `transcode-disk-full needs root to mount a 32 MiB tmpfs at ${mountPoint} (CI runs as root): ` +
        `mount exited ${mount.exitCode}: ${mount.stderr.toString().trim()}`,
    );
  }
  mounted = true;
  api = await startTestApi({ ...ADMIN_ENV, MEDIA_ROOT: mountPoint, TRANSCODE_ATTEMPTS: "3" });
  admin = await adminClient(api);
});

afterAll(async () => {
  await api?.stop();
  if (mounted) Bun.spawnSync(["umount", mountPoint]);
  for (const dir of [mountPoint, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const freeBytes = () => {
  const fs = statfsSync(mountPoint);
  return fs.bavail * fs.bsize;
};

/** The worker's JSON log lines with `msg`. */
const linesSaying = (logs: string, msg: string) =>
  logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; attempt?: number; reason?: string })
    .filter((line) => line.msg === msg);

test("a disk that fills mid-transcode: readable, no attempt spent, and the job finishes once space is back", async () => {
  // A 720p ladder of about 3 MiB, with 1.5 MiB left: FFmpeg runs out of room halfway.
  const source = await farmSource(scratch, "clip.mp4", 6, 1280, 720);
  const created = await uploadFile(api, admin, source);
  const filler = join(mountPoint, "filler.bin");
  writeFileSync(filler, new Uint8Array(freeBytes() - 1.5 * MiB));

  const worker = startTranscoder(api, "disk-full", {
    TRANSCODER_MIN_FREE_MB: "1",
    TRANSCODER_SPACE_POLL_SECONDS: "1",
  });
  try {
    const handedBack = await eventually(
      "the job handed back for want of space",
      async () => {
        const [line] = linesSaying(worker.logs(), "job handed back uncounted: the media storage is full");
        return line;
      },
      90_000,
    );
    expect(handedBack).toMatchObject({ attempt: 1, reason: "the media storage is full" });
    // FFmpeg said nothing and exited 0: the file system told, and nothing half-written stays behind.
    expect(linesSaying(worker.logs(), "the output file system filled up during the encode")).toHaveLength(1);
    expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);
    expect(
      linesSaying(worker.logs(), "the media storage is full: not taking jobs until space is back"),
    ).toHaveLength(1);

    // While there is no space the worker takes nothing: no claim, no attempt, the video stays processing.
    const claimsWhileFull = linesSaying(worker.logs(), "job claimed").length;
    await Bun.sleep(3000);
    expect(linesSaying(worker.logs(), "job claimed")).toHaveLength(claimsWhileFull);
    const waiting = await getVideo(admin, created.id);
    expect(waiting.processing_error).toBeNull();
    expect(waiting.processing_state).not.toBe("error");

    rmSync(filler);
    const ready = await untilState(admin, created.id, "ready");
    expect(ready.processing_error).toBeNull();
    // The attempt that ran out of space was not counted: the one that finished is still attempt 1.
    expect(linesSaying(worker.logs(), "job ready")).toMatchObject([{ attempt: 1 }]);
    expect(linesSaying(worker.logs(), "job attempt failed")).toEqual([]);
    expect(linesSaying(worker.logs(), "media storage has space again: taking jobs")).toHaveLength(1);
  } finally {
    await worker.stop();
  }
}, 180_000);

test("a disk already full when a job comes: handed back before any work, taken again once space is back", async () => {
  const source = await farmSource(scratch, "short.mp4", 2, 640, 360);
  const created = await uploadFile(api, admin, source);
  const filler = join(mountPoint, "filler-2.bin");
  writeFileSync(filler, new Uint8Array(freeBytes() - 2 * MiB));
  // Our own writes' ENOSPC is recognised as such (the worker's statfs check is the other way in).
  const refused = await writeFile(join(mountPoint, "too-big.bin"), new Uint8Array(3 * MiB)).catch(
    (error: unknown) => error,
  );
  expect(isNoSpace(refused)).toBe(true);
  rmSync(join(mountPoint, "too-big.bin"), { force: true });

  const worker = startTranscoder(api, "disk-full-early", {
    TRANSCODER_MIN_FREE_MB: "4",
    TRANSCODER_SPACE_POLL_SECONDS: "1",
  });
  try {
    await eventually(
      "the job handed back at its claim",
      async () => linesSaying(worker.logs(), "job handed back uncounted: the media storage is full")[0],
      60_000,
    );
    // Nothing was probed or encoded, and the api was not told anything.
    expect(linesSaying(worker.logs(), "source probed, ladder chosen")).toEqual([]);
    expect((await getVideo(admin, created.id)).processing_error).toBeNull();

    rmSync(filler);
    await untilState(admin, created.id, "ready");
    expect(linesSaying(worker.logs(), "job ready")).toMatchObject([{ attempt: 1 }]);
  } finally {
    await worker.stop();
  }
}, 120_000);
