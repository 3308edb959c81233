// The 1 GiB upload test's film (tests/support/generated-film.ts): FFmpeg reads it as the short MP4 it
// starts with, and its comparison with a stored copy catches a chunk moved, repeated, changed or missing.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamsOf, videoPackets } from "../support/ffprobe.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { GeneratedFilm } from "../support/generated-film.ts";

const MiB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), "vf-generated-film-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("a padded film plays as its MP4, and only its exact bytes compare equal", async () => {
  const mp4 = await tinyMp4Bytes();
  const film = new GeneratedFilm(mp4, 20 * MiB + 123);
  const whole = film.slice(0, film.size);
  // Slices are the same bytes wherever they are cut.
  expect(
    Buffer.concat([film.slice(0, 777), film.slice(777, 5 * MiB + 3), film.slice(5 * MiB + 3, film.size)]),
  ).toEqual(Buffer.from(whole));
  const path = join(scratch, "film.mp4");
  await Bun.write(path, whole);
  const original = join(scratch, "original.mp4");
  await Bun.write(original, mp4);
  // What FFmpeg reads is the MP4 alone: the same streams, the same frames, the padding skipped.
  expect((await streamsOf(path)).map((stream) => stream.codec_name)).toEqual(
    (await streamsOf(original)).map((stream) => stream.codec_name),
  );
  expect((await videoPackets(path)).length).toBe((await videoPackets(original)).length);
  expect(await film.storedAt(path)).toBe(true);

  const chunk = 4 * MiB;
  const variants: Record<string, Uint8Array> = {
    // The second 4 MiB chunk stored twice, in place of the third: the filler repeats every MiB, the
    // offset stamps do not.
    repeated: Buffer.concat([
      whole.subarray(0, 2 * chunk),
      whole.subarray(chunk, 2 * chunk),
      whole.subarray(3 * chunk),
    ]),
    "one byte changed": Uint8Array.from(whole, (byte, at) => (at === 15 * MiB ? byte ^ 1 : byte)),
    "the end missing": whole.subarray(0, film.size - 1),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    await Bun.write(path, bytes);
    expect(await film.storedAt(path), name).toBe(false);
  }
});
