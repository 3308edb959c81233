// Upload staging of the local driver, by ownership and by age: a process's own folder that no upload
// writes any more goes at once, an upload in flight stays, and anyone's folder that nothing wrote to for
// longer than the idle limit goes (an api killed mid-upload, a hung request).
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMediaStorage } from "../../storage/index.ts";
import { eventually } from "../support/eventually.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-upload-staging-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const HOUR_MS = 3600_000;

/** A folder as an upload leaves it: `<label>--<uuid>/object`, last written `ageMs` ago. */
function plant(stagingDir: string, label: string, bytes: number, ageMs: number): string {
  const dir = join(stagingDir, `${label}--${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "object"), new Uint8Array(bytes));
  const then = new Date(Date.now() - ageMs);
  utimesSync(join(dir, "object"), then, then);
  utimesSync(dir, then, then);
  return dir;
}

test("own leftovers go at once, an upload in flight stays, anyone's idle past the limit goes", async () => {
  const root = join(scratch, "media");
  const storage = new LocalMediaStorage(root);
  const staging = join(root, ".staging");
  // An upload that has begun and waits for its next bytes.
  let release!: () => void;
  const more = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* body() {
    yield new Uint8Array(1000);
    await more;
    yield new Uint8Array(500);
  }
  const uploading = storage.putStream("sources/in-flight.mp4", body(), { maxBytes: 1 << 20 });
  // The folder (and .staging itself) appear once the upload's first write begins.
  const inFlight = await eventually("the upload's staging folder", async () =>
    existsSync(staging) ? readdirSync(staging)[0] : undefined,
  );
  const ownLabel = inFlight.split("--")[0]!;
  expect(ownLabel).toMatch(/^upload-[0-9a-f]{8}$/);

  const ownLeftover = plant(staging, ownLabel, 300, 0); // this process's, but no upload writes it
  const otherFresh = plant(staging, "upload-0badf00d", 400, 0); // another replica's upload, in flight
  const otherStale = plant(staging, "upload-0badf00d", 700, 2 * HOUR_MS); // a killed api's
  const olderVersion = plant(staging, "upload", 900, 2 * HOUR_MS); // before uploads had an owner
  const notAnUpload = plant(staging, "attempt-00-00-output", 100, 2 * HOUR_MS); // the transcoders'

  expect(await storage.sweepUploads(HOUR_MS)).toEqual({ items: 3, bytes: 300 + 700 + 900 });
  const left = readdirSync(staging).map((name) => join(staging, name));
  expect(left.sort()).toEqual([join(staging, inFlight), otherFresh, notAnUpload].sort());
  for (const gone of [ownLeftover, otherStale, olderVersion]) expect(left).not.toContain(gone);

  // Idle past the limit, even this process's own upload goes: nothing wrote to it for that long.
  expect(await storage.sweepUploads(0)).toEqual({ items: 2, bytes: 1000 + 400 });
  release();
  await expect(uploading).rejects.toThrow();
}, 60_000);
