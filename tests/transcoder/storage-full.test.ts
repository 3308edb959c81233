// When a failed attempt counts as "the media storage is full": only when the failure says so (ENOSPC,
// EDQUOT, FFmpeg's words) or the file system is all but full. Below the headroom alone a real failure
// keeps its own message. Real file systems: the test's temporary folder and a 2 MiB tmpfs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { isNoSpace, StorageFullError } from "../../storage/no-space.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { storageFullHandling } from "../../transcoder/storage-full.ts";
import { freeBytes } from "../../transcoder/storage-space.ts";

const log = pino({ level: "silent" });
const noWorker = () => {
  throw new Error("the worker is not paused by these checks");
};
const handlingFor = (mediaRoot: string, minFreeMb: number) =>
  storageFullHandling({
    config: loadTranscoderConfig({ MEDIA_ROOT: mediaRoot, TRANSCODER_MIN_FREE_MB: String(minFreeMb) }),
    log,
    worker: noWorker,
  });

let roomy: string;
let small: string;
let mounted = false;
beforeAll(() => {
  roomy = mkdtempSync(join(tmpdir(), "vf-headroom-"));
  small = mkdtempSync(join(tmpdir(), "vf-nearly-full-"));
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small]);
  if (mount.exitCode !== 0) {
    throw new Error(
      `storage-full needs root to mount a 2 MiB tmpfs at ${small} (CI runs as root): ` +
        `mount exited ${mount.exitCode}: ${mount.stderr.toString().trim()}`,
    );
  }
  mounted = true;
});
afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", small]);
  for (const dir of [roomy, small]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const ffmpegFailure = new Error("FFmpeg exited with code 1: Conversion failed!");

describe("a failed attempt below the headroom", () => {
  test("a failure of its own keeps its message: it is not made a full disk", async () => {
    // A headroom of 1 TiB: the temporary folder's file system is below it, yet has plenty of room.
    const handling = handlingFor(roomy, 1_048_576);
    expect(await handling.isLow()).toBe(true);
    expect(await handling.explains(ffmpegFailure)).toBe(false);
    expect(await handling.explains(new Error("index.m3u8 is not a valid playlist"))).toBe(false);
    handling.stop();
  });

  test("a write that found no space, or FFmpeg's words for it, is a full disk", async () => {
    const handling = handlingFor(roomy, 1_048_576);
    const refused = Object.assign(new Error("write failed"), { code: "ENOSPC" });
    expect(await handling.explains(refused)).toBe(true);
    expect(await handling.explains(new Error("av_interleaved_write_frame(): No space left on device"))).toBe(
      true,
    );
    expect(await handling.explains(new StorageFullError())).toBe(true);
    handling.stop();
  });
});

test("an all but full file system explains any failure (FFmpeg may have lost writes silently)", async () => {
  writeFileSync(join(small, "filler"), new Uint8Array((await freeBytes(small)) - 256 * 1024));
  const handling = handlingFor(small, 1);
  expect(await handling.explains(ffmpegFailure)).toBe(true);
  // Our own write's ENOSPC from the kernel is recognised as such.
  const refused = await writeFile(join(small, "more"), new Uint8Array(1024 * 1024)).catch((error) => error);
  expect(isNoSpace(refused)).toBe(true);
  handling.stop();
});

test("the full-disk error keeps the words of a failure that does not itself say so", () => {
  const full = new StorageFullError(ffmpegFailure);
  expect(full.message).toBe(
    "the media storage is full (the attempt failed with: FFmpeg exited with code 1: Conversion failed!)",
  );
  const said = new StorageFullError(Object.assign(new Error("write"), { code: "ENOSPC" }));
  expect(said.message).toBe("the media storage is full");
  expect(new StorageFullError().message).toBe("the media storage is full");
});
