// What the tests feed the api and what a transcoder would have made of it: a tiny real MP4 (made once
// per process with FFmpeg), a fabricated TranscodeResult and the published files it names.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";

let tinyMp4: Promise<Uint8Array<ArrayBuffer>> | undefined;

/** A 2-second 320×180 H.264/AAC MP4, encoded once per test process. */
export function tinyMp4Bytes(): Promise<Uint8Array<ArrayBuffer>> {
  tinyMp4 ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "vf-mp4-"));
    const out = join(dir, "out.mp4");
    try {
      const ffmpeg = Bun.spawn(
        [
          "ffmpeg",
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          "testsrc2=s=320x180:r=25:d=2",
          "-f",
          "lavfi",
          "-i",
          "sine=d=2",
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-c:a",
          "aac",
          "-shortest",
          out,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      if ((await ffmpeg.exited) !== 0)
        throw new Error(`ffmpeg failed: ${await new Response(ffmpeg.stderr).text()}`);
      return new Uint8Array(await Bun.file(out).arrayBuffer());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return tinyMp4;
}

/** A TranscodeResult such as a transcoder returns for a 320×180 source (two posters). */
export function fabricatedResult(durationSeconds = 2): TranscodeResult {
  return {
    durationSeconds,
    renditions: [
      {
        name: "180p",
        width: 320,
        height: 180,
        bandwidth: 420_000,
        averageBandwidth: 350_000,
        codecs: "avc1.64000d,mp4a.40.2",
        frameRate: 25,
      },
      {
        name: "144p",
        width: 256,
        height: 144,
        bandwidth: 260_000,
        averageBandwidth: 210_000,
        codecs: "avc1.64000c,mp4a.40.2",
        frameRate: 25,
      },
    ],
    masterPlaylist: "master.m3u8",
    posters: [
      { width: 320, height: 180, jpeg: "thumbnails/poster-320.jpg", webp: "thumbnails/poster-320.webp" },
      { width: 640, height: 360, jpeg: "thumbnails/poster-640.jpg", webp: "thumbnails/poster-640.webp" },
    ],
    storyboard: null,
  };
}

/** Writes the files a transcoder would have published for `revision` under MEDIA_ROOT; returns the dir. */
export function publishTree(
  mediaRoot: string,
  videoId: number,
  revision: number,
  result = fabricatedResult(),
): string {
  const dir = join(mediaRoot, outputPrefixFor(videoId, revision));
  const files = [
    result.masterPlaylist,
    ...result.renditions.flatMap((r) => [`${r.name}/index.m3u8`, `${r.name}/seg_00000.ts`]),
    ...result.posters.flatMap((p) => [p.jpeg, p.webp]),
  ];
  for (const file of files) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `fake ${file}\n`);
  }
  return dir;
}

/** One rung of a ladder as a film's flow records it (contract/transcode-pieces.ts): 360p at 25 fps. */
export const SAMPLE_RUNG = {
  name: "360p",
  width: 640,
  height: 360,
  frameRate: 25,
  videoBitrate: 800_000,
  maxrate: 856_000,
  bufsize: 1_200_000,
  audioBitrate: 96_000,
};
