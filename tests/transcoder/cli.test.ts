// `bun run transcode`: the pipeline on one local file, as a person runs it. The command itself
// (runTranscodeCommand) runs in this process on real FFmpeg; the entry, transcoder/cli.ts, as a
// process: its exit status and its signals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateVideo, writeZeroBytes } from "../../dev/media.ts";
import { USAGE } from "../../transcoder/cli/arguments.ts";
import { runTranscodeCommand } from "../../transcoder/cli/command.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

const CLI = resolve(import.meta.dir, "../../transcoder/cli.ts");
let dir: string;
let clip: string;
let long: Promise<string> | undefined;
/** A source whose encode with a slow preset runs for many seconds, made once for the interrupt tests. */
const longSource = () => {
  long ??= generateVideo(join(dir, "long.mp4"), {
    seconds: 20,
    width: 640,
    height: 360,
    fps: 25,
    audio: "stereo",
  });
  return long;
};
/** A progress line of the encode at 10 % or more: FFmpeg is running. */
const ENCODING_UNDER_WAY = /^encoding\s+[1-9]\d\.\d%/m;
/** FFmpeg processes writing into a staging folder of the output `name`. */
const ffmpegWritingInto = (name: string) =>
  Bun.spawnSync(["pgrep", "-f", `ffmpeg.*\\.${name}\\.partial-`])
    .stdout.toString()
    .trim();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-cli-"));
  clip = await generateVideo(join(dir, "clip.mp4"), {
    seconds: 2,
    width: 640,
    height: 360,
    fps: 25,
    audio: "stereo",
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The command in this process: its exit status, what it printed (stdout) and what it said (stderr). */
async function transcodeCommand(
  args: string[],
  options: { tty?: boolean; signal?: AbortSignal; onErr?: (err: string) => void } = {},
) {
  const out: string[] = [];
  let err = "";
  const code = await runTranscodeCommand(args, {
    out: (text) => void out.push(text),
    err: {
      write: (text: string) => {
        err += text;
        options.onErr?.(err);
      },
      isTTY: options.tty,
    },
    signal: options.signal,
  });
  return { code, out: out.join("\n"), err };
}

/** Folders the command left beside its outputs in `dir` (a `.name.partial-*` staging, a retired tree). */
const leftovers = () => readdirSync(dir).filter((entry) => entry.startsWith("."));

describe("bun run transcode", () => {
  test("writes the HLS tree, posters and storyboard into place and prints a summary; a second run replaces it", async () => {
    const out = join(dir, "clip-hls");
    const first = await transcodeCommand([clip, out, "--preset", "ultrafast", "--segment", "1"]);
    expect(first.err).toStartWith(`transcoding ${clip} (preset ultrafast, 1 s segments, hwaccel none)\n`);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^rendition\s+size\s+fps\s+bandwidth\s+average\s+codecs$/m);
    expect(first.out).toMatch(
      /^360p\s+640x360\s+25\s+\d+ kb\/s\s+\d+ kb\/s\s+avc1\.[0-9a-f]{6},mp4a\.40\.2$/m,
    );
    expect(first.out).toContain(`master playlist  ${join(out, "master.m3u8")}`);
    expect(first.out).toMatch(/^duration\s+0:02 \(\d\.\d\d s\)$/m);
    expect(first.out).toMatch(/^realtime factor\s+\d+\.\d\dx$/m);
    // The summary counts the posters the tree holds, and names its storyboard.
    const posters = readdirSync(join(out, "thumbnails")).filter((name) => /^poster-\d+\.jpg$/.test(name));
    expect(posters.length).toBeGreaterThan(0);
    expect(first.out).toContain(`posters          ${posters.length}, storyboard thumbnails/storyboard.vtt`);
    expect(existsSync(join(out, "thumbnails", "storyboard.vtt"))).toBe(true);
    expect(await Bun.file(join(out, "360p", "index.m3u8")).text()).toContain("#EXT-X-TARGETDURATION:1");
    // Not a terminal: a plain line per stage (and per 10 %), in the pipeline's order.
    const stages = [...first.err.matchAll(/^(\w+)\s+[\d.]+%/gm)].map((line) => line[1]);
    expect([...new Set(stages)]).toEqual(["probing", "encoding", "verifying", "remuxing", "thumbnails"]);
    expect(leftovers()).toEqual([]);

    // On a terminal: one bar redrawn in place, its line ended before the summary. The earlier tree is
    // replaced whole (no thumbnails this time: none are left over from the first run).
    const again = await transcodeCommand(
      [clip, out, "--preset", "ultrafast", "--segment", "2", "--no-thumbnails", "--ladder", "360"],
      { tty: true },
    );
    expect(again.code).toBe(0);
    expect(again.err).toContain("\r\x1b[2K[");
    // The last redraw is the pipeline's end (99 %: publishing is the worker's), then the line ends.
    const redraws = again.err.split("\r\x1b[2K");
    expect(redraws.at(-1)).toMatch(/^\[#{30}\] thumbnails\s+99\.0%\s+ETA 0:00\n$/);
    expect(again.err).not.toMatch(/^encoding\s/m);
    expect(again.out).toContain("posters          0\n");
    expect(await Bun.file(join(out, "360p", "index.m3u8")).text()).toContain("#EXT-X-TARGETDURATION:2");
    expect(existsSync(join(out, "thumbnails"))).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);

  test("a file that is no video exits 2 with the readable reason and leaves nothing behind", async () => {
    const out = join(dir, "empty-hls");
    const result = await transcodeCommand([await writeZeroBytes(join(dir, "empty.mp4")), out]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("This file cannot be transcoded: The file is empty");
    expect(result.out).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test("a source that is not there exits 66 before anything is made", async () => {
    const missing = join(dir, "missing.mp4");
    const result = await transcodeCommand([missing, join(dir, "missing-hls")]);
    expect(result.code).toBe(66);
    expect(result.err).toBe(`${missing}: no such file\n`);
    expect(leftovers()).toEqual([]);
  });

  test("each bad argument exits 64 with a line naming it; --help prints the usage", async () => {
    const refusals: [string[], string][] = [
      [["only-one-argument"], USAGE],
      [["a.mp4", "out", "extra"], USAGE],
      [["a.mp4", "out", "--preset", "warp"], "--preset must be one of ultrafast, superfast, veryfast"],
      [["a.mp4", "out", "--segment", "0"], "--segment must be a whole number of seconds from 1 to 30"],
      [["a.mp4", "out", "--segment", "2.5"], "--segment must be a whole number of seconds from 1 to 30"],
      [["a.mp4", "out", "--hwaccel", "quantum"], "--hwaccel must be one of none, nvenc, cuda-decode, auto"],
      [["a.mp4", "out", "--ladder", "360,481"], "--ladder must be comma-separated even heights"],
      [["a.mp4", "out", "--ladder", "96"], "--ladder must be comma-separated even heights"],
      [["a.mp4", "out", "--colour", "red"], "Unknown option '--colour'"],
    ];
    for (const [args, message] of refusals) {
      const result = await transcodeCommand(args);
      expect({ args, code: result.code }).toEqual({ args, code: 64 });
      expect(result.err).toContain(message);
      expect(result.out).toBe("");
    }
    for (const help of ["--help", "-h"]) {
      const result = await transcodeCommand([help]);
      expect(result.code).toBe(0);
      expect(result.out).toBe(USAGE);
    }
  });

  test("interrupted while encoding: FFmpeg stops, the run fails with the reason and leaves nothing", async () => {
    const out = join(dir, "long-hls");
    const interrupted = new AbortController();
    const result = await transcodeCommand([await longSource(), out, "--preset", "slower"], {
      signal: interrupted.signal,
      onErr: (err) => {
        if (ENCODING_UNDER_WAY.test(err)) interrupted.abort(new Error("interrupted"));
      },
    });
    expect(interrupted.signal.aborted).toBe(true);
    expect(result.code).toBe(1);
    expect(result.err).toEndWith("Transcoding failed: interrupted\n");
    expect(ffmpegWritingInto("long-hls")).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});

describe("transcoder/cli.ts, the process", () => {
  const cli = (...args: string[]) => runProcess(["bun", CLI, ...args], { timeoutMs: 60_000 });

  test("prints the summary on stdout and exits 0; bad usage exits 64 with the usage on stderr", async () => {
    const out = join(dir, "process-hls");
    const done = await cli(clip, out, "--preset", "ultrafast", "--no-thumbnails");
    expect(done.exitCode).toBe(0);
    expect(done.stdout).toMatch(/^360p\s+640x360\s+25\s/m);
    expect(done.stderr).toContain("transcoding");
    expect(existsSync(join(out, "master.m3u8"))).toBe(true);

    const usage = await cli("only-one-argument");
    expect(usage.exitCode).toBe(64);
    expect(usage.stderr).toContain("usage: bun run transcode");
    expect(usage.stdout).toBe("");
  }, 60_000);

  test("SIGINT while encoding stops FFmpeg and exits 1 with no partial output", async () => {
    const out = join(dir, "sigint-hls");
    const child = Bun.spawn(["bun", CLI, await longSource(), out, "--preset", "slower"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    let stderr = "";
    let signalled = false;
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      if (!signalled && ENCODING_UNDER_WAY.test(stderr)) {
        signalled = true;
        child.kill("SIGINT");
      }
    }
    expect(signalled).toBe(true);
    expect(await child.exited).toBe(1);
    expect(stderr).toContain("Transcoding failed: interrupted");
    expect(ffmpegWritingInto("sigint-hls")).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
