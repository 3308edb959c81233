// Uploads that name other files: a DASH manifest, an HLS playlist or an ffconcat list, dressed up with a
// container's magic bytes, must be refused (InputError) at upload and again in the transcoder, without
// FFmpeg ever opening the file they point at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sniffContainer } from "../../api/videos/sniff.ts";
import { generateVideo } from "../../dev/media.ts";
import { InputError } from "../../transcoder/errors.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { UNSUPPORTED_CONTAINER } from "../../transcoder/source-input.ts";

let dir: string;
let secret: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-untrusted-"));
  // A perfectly good video elsewhere on the host: if FFmpeg followed a reference, it would publish it.
  secret = await generateVideo(join(dir, "secret.mp4"), {
    seconds: 1,
    width: 160,
    height: 90,
    fps: 10,
    audio: "none",
  });
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dashManifest = (url: string) =>
  `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" ` +
  `type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S">\n<Period>` +
  `<AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" width="160" height="90" ` +
  `codecs="avc1.64000c"><BaseURL>${url}</BaseURL></Representation></AdaptationSet></Period>\n</MPD>\n`;

/** Every upload here references `secret`; `head` is the part the upload sniff sees. */
function attacks(): Array<{ name: string; file: string; body: string }> {
  const url = `file://${secret}`;
  return [
    // An XML comment whose bytes 4–7 read as an ISO BMFF box name.
    ...["skip", "free", "wide", "moov", "mdat", "ftyp"].map((box) => ({
      name: `DASH behind <!--${box}-->`,
      file: `dash-${box}.mp4`,
      body: `<!--${box}-->\n${dashManifest(url)}`,
    })),
    // The demuxer allowlist itself, not only the mov demuxer's own probe, refuses these.
    { name: "DASH named .mpd", file: "manifest.mpd", body: dashManifest(url) },
    {
      name: "DASH naming the file by path",
      file: "dash-path.mp4",
      body: `<!--skip-->${dashManifest(secret)}`,
    },
    {
      name: "HLS playlist",
      file: "list.m3u8",
      body: `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n${url}\n#EXT-X-ENDLIST\n`,
    },
    { name: "ffconcat list", file: "list.ffconcat", body: "ffconcat version 1.0\nfile secret.mp4\n" },
    { name: "ffconcat list named .mp4", file: "concat.mp4", body: "ffconcat version 1.0\nfile secret.mp4\n" },
  ];
}

describe("a source that references another file", () => {
  test("is refused by the upload sniff", () => {
    for (const attack of attacks()) {
      const head = new TextEncoder().encode(attack.body.padEnd(1024, " ")).subarray(0, 1024);
      expect({ name: attack.name, sniffed: sniffContainer(head) }).toEqual({
        name: attack.name,
        sniffed: null,
      });
    }
  });

  for (const attack of attacks()) {
    test(`${attack.name}: a readable InputError, nothing read or written`, async () => {
      const sourcePath = join(dir, attack.file);
      await writeFile(sourcePath, attack.body);
      const outputDir = join(dir, `out-${attack.file}`);
      const error = await transcode({ sourcePath, outputDir, segmentSeconds: 1, preset: "ultrafast" }).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(InputError);
      // A fake `moov`/`mdat`/`ftyp` box is taken by the mov demuxer, which refuses it itself.
      const message = /moov|mdat|ftyp/.test(attack.name) ? expect.any(String) : UNSUPPORTED_CONTAINER;
      expect((error as Error).message).toEqual(message);
      expect(await readdir(outputDir).catch(() => [])).toEqual([]);
    }, 30_000);
  }
});

test("the sniff still knows real containers and names their stored extension", async () => {
  const mp4 = await Bun.file(secret).bytes();
  expect(sniffContainer(mp4.subarray(0, 1024))).toEqual({ name: "ISO BMFF", extension: "mp4" });
  const ts = await generateVideo(join(dir, "real.ts"), {
    seconds: 1,
    width: 64,
    height: 36,
    fps: 5,
    audio: "none",
  });
  expect(sniffContainer((await Bun.file(ts).bytes()).subarray(0, 1024))?.extension).toBe("ts");
  // QuickTime: an 8-byte `wide` box, then the media data running past the head.
  const mov = new Uint8Array(1024);
  mov.set([0, 0, 0, 8, ...new TextEncoder().encode("wide"), 0x00, 0x10, 0x00, 0x00]);
  mov.set(new TextEncoder().encode("mdat"), 12);
  expect(sniffContainer(mov)?.extension).toBe("mp4");
}, 60_000);

test("a manifest is refused by the demuxer allowlist with the container sentence", async () => {
  const sourcePath = join(dir, "plain.mpd");
  await writeFile(sourcePath, `<!--skip-->${dashManifest(`file://${secret}`)}`);
  const error = await transcode({ sourcePath, outputDir: join(dir, "out-plain"), thumbnails: false }).catch(
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toBe(UNSUPPORTED_CONTAINER);
}, 30_000);
