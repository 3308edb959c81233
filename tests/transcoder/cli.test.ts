// `bun run transcode`: the pipeline on one local file, as a person runs it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateVideo, writeZeroBytes } from "../../dev/media.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

const CLI = resolve(import.meta.dir, "../../transcoder/cli.ts");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "transcode-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runProcess(["bun", CLI, ...args], { timeoutMs: 60_000 });

describe("bun run transcode", () => {
  test("writes the HLS tree into place and prints a summary", async () => {
    const source = await generateVideo(join(dir, "clip.mp4"), {
      seconds: 2,
      width: 640,
      height: 360,
      fps: 25,
      audio: "stereo",
    });
    const out = join(dir, "clip-hls");
    const result = await cli(source, out, "--preset", "ultrafast", "--segment", "1", "--no-thumbnails");
    expect(result.stderr).toContain("transcoding");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^rendition\s+size\s+fps\s+bandwidth/m);
    expect(result.stdout).toMatch(/^360p\s+640x360\s+25\s+\d+ kb\/s/m);
    expect(result.stdout).toContain("realtime factor");
    expect(existsSync(join(out, "master.m3u8"))).toBe(true);
    expect(existsSync(join(out, "360p", "index.m3u8"))).toBe(true);
    // Not a TTY here: plain progress lines, ending at the last stage.
    expect(result.stderr).toMatch(/^encoding\s+\d/m);
    // No temporary folder is left next to the output.
    expect(readdirSync(dir).filter((entry) => entry.includes("partial"))).toEqual([]);

    // Running again replaces the earlier output.
    const again = await cli(source, out, "--preset", "ultrafast", "--segment", "2", "--no-thumbnails");
    expect(again.exitCode).toBe(0);
    expect(await Bun.file(join(out, "360p", "index.m3u8")).text()).toContain("#EXT-X-TARGETDURATION:2");
    expect(readdirSync(dir).filter((entry) => entry.startsWith("."))).toEqual([]);
  }, 60_000);

  test("a bad file exits 2 with the readable reason and leaves nothing behind", async () => {
    const out = join(dir, "empty-hls");
    const result = await cli(await writeZeroBytes(join(dir, "empty.mp4")), out);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("This file cannot be transcoded: The file is empty");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((entry) => entry.includes("partial"))).toEqual([]);
  });

  test("bad usage is explained", async () => {
    const result = await cli("only-one-argument");
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain("usage: bun run transcode");
    const badPreset = await cli("a.mp4", "out", "--preset", "warp");
    expect(badPreset.stderr).toContain("--preset must be one of");
  });
});
