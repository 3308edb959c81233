// Posters and storyboard from tiny lavfi sources: the poster is never the black intro, every size keeps
// the display aspect (portrait phone video included), the sprite sheets match their tile grid, the
// WebVTT track covers the duration, and an abort stops every FFmpeg child.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import {
  makeThumbnails,
  posterWidths,
  storyboardInterval,
  type Thumbnails,
  tileCount,
} from "../../transcoder/thumbnails/index.ts";

let root = "";
const originalTmpdir = process.env.TMPDIR;

async function ffmpeg(args: string[]): Promise<void> {
  const result = await runProcess(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", ...args], {
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0) throw new Error(`test media: ${result.stderr.trim()}`);
}

const X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p"];

const media = {
  /** 6 s 640×360: 2 s of black, then testsrc2; a first-frame poster would be black. */
  blackIntro: "",
  /** Stored 640×360 with rotate=90, as phones write it: shown 360×640. */
  portrait: "",
  /** 1 s of 320×240 (4:3). */
  oneSecond: "",
  /** A single 200×150 (4:3) frame: narrower than the smallest poster width, shorter than a second. */
  singleFrame: "",
  /** 12 s 480×270: six storyboard tiles. */
  twelve: "",
  /** 1100 s of 64×36 at 1 fps, a keyframe every 5 s: 110 tiles over two sprite sheets. */
  long: "",
  /** 12 s of plain red at 320×180, an MP4 as a rung's progressive file: the storyboard's other input. */
  redRung: "",
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "thumbnails-test-"));
  // makeThumbnails keeps its intermediate frames under os.tmpdir(): here, so leftovers can be seen.
  await mkdir(join(root, "tmp"));
  process.env.TMPDIR = join(root, "tmp");
  media.blackIntro = join(root, "black-intro.mp4");
  media.portrait = join(root, "portrait.mp4");
  media.singleFrame = join(root, "single-frame.mp4");
  media.oneSecond = join(root, "one-second.mp4");
  media.twelve = join(root, "twelve.mp4");
  media.long = join(root, "long.mp4");
  media.redRung = join(root, "red-rung.mp4");
  const sideways = join(root, "sideways.mp4");
  await Promise.all([
    ffmpeg([
      ...["-f", "lavfi", "-i", "color=black:s=640x360:r=25:d=2"],
      ...["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4"],
      ...["-filter_complex", "[0][1]concat=n=2:v=1:a=0", ...X264, media.blackIntro],
    ]),
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=3", ...X264, sideways]).then(() =>
      // FFmpeg 5.1 writes the rotation only when stream-copying.
      ffmpeg(["-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=90", media.portrait]),
    ),
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=200x150:r=25", "-frames:v", "1", ...X264, media.singleFrame]),
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1", ...X264, media.oneSecond]),
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=480x270:r=25:d=12", ...X264, media.twelve]),
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=64x36:r=1:d=1100", ...X264, "-g", "5", media.long]),
    ffmpeg(["-f", "lavfi", "-i", "color=red:s=320x180:r=25:d=12", ...X264, media.redRung]),
  ]);
});

afterAll(async () => {
  if (originalTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmpdir;
  if (root) await rm(root, { recursive: true, force: true });
});

let runs = 0;
async function thumbnails(
  sourcePath: string,
  source: { durationSeconds: number; width: number; height: number },
  signal?: AbortSignal,
  storyboardFrom?: { path: string; demuxer: string },
): Promise<{ result: Thumbnails; stagingDir: string }> {
  const stagingDir = join(root, `staging-${runs++}`);
  const result = await makeThumbnails({
    sourcePath,
    outputDir: join(stagingDir, "thumbnails"),
    source,
    signal,
    ...(storyboardFrom ? { storyboardFrom } : {}),
  });
  return { result, stagingDir };
}

interface Cue {
  start: number;
  end: number;
  sprite: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const cueTime = (text: string) => {
  const match = /^(\d{2,}):(\d{2}):(\d{2})\.(\d{3})$/.exec(text);
  if (!match) throw new Error(`bad WebVTT time ${text}`);
  const [, hours, minutes, seconds, ms] = match.map(Number) as number[];
  return ((hours! * 60 + minutes!) * 60 + seconds!) * 1000 + ms!;
};

function parseVtt(text: string): Cue[] {
  const blocks = text.trim().split(/\n\n+/);
  expect(blocks[0]).toBe("WEBVTT");
  return blocks.slice(1).map((block) => {
    const [timing, payload, ...rest] = block.split("\n");
    expect(rest).toEqual([]);
    const [start, end] = (timing ?? "").split(" --> ");
    const match = /^(storyboard-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload ?? "");
    if (!match) throw new Error(`bad cue payload ${payload}`);
    return {
      start: cueTime(start ?? ""),
      end: cueTime(end ?? ""),
      sprite: match[1]!,
      x: Number(match[2]),
      y: Number(match[3]),
      w: Number(match[4]),
      h: Number(match[5]),
    };
  });
}

/** Checks every poster file, returns the mean luminance of the largest one. */
async function checkPosters(
  stagingDir: string,
  result: Thumbnails,
  source: { width: number; height: number },
): Promise<number> {
  const widths = posterWidths(source.width);
  expect(result.posters.map((poster) => poster.width)).toEqual(widths);
  for (const poster of result.posters) {
    expect(poster.width).toBeLessThanOrEqual(source.width);
    expect(poster.height).toBe(Math.round((poster.width * source.height) / source.width));
    expect(poster.jpeg).toBe(`thumbnails/poster-${poster.width}.jpg`);
    expect(poster.webp).toBe(`thumbnails/poster-${poster.width}.webp`);
    const jpeg = await sharp(join(stagingDir, poster.jpeg)).metadata();
    expect(jpeg).toMatchObject({
      format: "jpeg",
      width: poster.width,
      height: poster.height,
      isProgressive: true,
    });
    const webp = await sharp(join(stagingDir, poster.webp)).metadata();
    expect(webp).toMatchObject({ format: "webp", width: poster.width, height: poster.height });
  }
  const largest = result.posters.at(-1)!;
  const stats = await sharp(join(stagingDir, largest.jpeg))
    .greyscale()
    .toBuffer()
    .then((b) => sharp(b).stats());
  return stats.channels[0]!.mean;
}

/** Checks the sprite sheets against the tile grid and the WebVTT track against the duration. */
async function checkStoryboard(
  stagingDir: string,
  result: Thumbnails,
  source: { durationSeconds: number; width: number; height: number },
): Promise<Cue[]> {
  const storyboard = result.storyboard;
  if (!storyboard) throw new Error("no storyboard");
  expect(storyboard.vtt).toBe("thumbnails/storyboard.vtt");
  const tiles = tileCount(source.durationSeconds, storyboardInterval(source.durationSeconds));
  const sheets = Math.ceil(tiles / 100);
  expect(storyboard.sprites).toEqual(
    Array.from({ length: sheets }, (_, n) => `thumbnails/storyboard-${n}.jpg`),
  );

  const tileHeight = 2 * Math.round((160 * source.height) / source.width / 2);
  const sizes = new Map<string, { width: number; height: number }>();
  for (const [sheet, sprite] of storyboard.sprites.entries()) {
    const inSheet = Math.min(100, tiles - sheet * 100);
    const columns = Math.min(10, inSheet);
    const metadata = await sharp(join(stagingDir, sprite)).metadata();
    expect(metadata.format).toBe("jpeg");
    expect(metadata.width).toBe(columns * 160);
    expect(metadata.height).toBe(Math.ceil(inSheet / columns) * tileHeight);
    sizes.set(sprite.replace("thumbnails/", ""), { width: metadata.width, height: metadata.height });
  }

  const cues = parseVtt(await readFile(join(stagingDir, storyboard.vtt), "utf8"));
  expect(cues).toHaveLength(tiles);
  expect(cues[0]!.start).toBe(0);
  for (const [index, cue] of cues.entries()) {
    expect(cue.end).toBeGreaterThan(cue.start);
    if (index > 0) expect(cue.start).toBe(cues[index - 1]!.end);
    expect(cue.sprite).toBe(`storyboard-${Math.floor(index / 100)}.jpg`);
    expect({ w: cue.w, h: cue.h }).toEqual({ w: 160, h: tileHeight });
    const sprite = sizes.get(cue.sprite)!;
    expect(cue.x + cue.w).toBeLessThanOrEqual(sprite.width);
    expect(cue.y + cue.h).toBeLessThanOrEqual(sprite.height);
  }
  expect(cues.at(-1)!.end).toBe(Math.round(source.durationSeconds * 1000));
  // Every tile of the grid is used once.
  expect(new Set(cues.map((cue) => `${cue.sprite}:${cue.x},${cue.y}`)).size).toBe(tiles);
  return cues;
}

async function leftoverTempDirs(): Promise<string[]> {
  return (await readdir(join(root, "tmp"))).filter((name) => name.startsWith("vf-thumbnails-"));
}

/** Processes (FFmpeg, ffprobe) whose command line names `path` (and `also`, when given). */
async function processesUsing(path: string, also = ""): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(path) && cmdline.includes(also) && Number(entry) !== process.pid) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

describe("makeThumbnails", () => {
  test("skips the black intro for the poster; posters and storyboard for a 16:9 source", async () => {
    const source = { durationSeconds: 6, width: 640, height: 360 };
    const { result, stagingDir } = await thumbnails(media.blackIntro, source);
    expect(result.posters.map((poster) => [poster.width, poster.height])).toEqual([
      [320, 180],
      [640, 360],
    ]);
    expect(await checkPosters(stagingDir, result, source)).toBeGreaterThan(60);
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues.map((cue) => [cue.start, cue.end, cue.x, cue.y])).toEqual([
      [0, 2000, 0, 0],
      [2000, 4000, 160, 0],
      [4000, 6000, 320, 0],
    ]);
    // The first tile is the black intro (it is what a seek there shows), the others are not.
    const sprite = await sharp(join(stagingDir, result.storyboard!.sprites[0]!)).greyscale().raw().toBuffer();
    const tileMean = async (left: number) => {
      const tile = await sharp(sprite, { raw: { width: 480, height: 90, channels: 1 } })
        .extract({ left, top: 0, width: 160, height: 90 })
        .toBuffer();
      return (await sharp(tile, { raw: { width: 160, height: 90, channels: 1 } }).stats()).channels[0]!.mean;
    };
    expect(await tileMean(0)).toBeLessThan(10);
    expect(await tileMean(160)).toBeGreaterThan(60);
    expect(await leftoverTempDirs()).toEqual([]);
  });

  test("a rotated phone video: upright portrait posters and tiles", async () => {
    const source = { durationSeconds: 3, width: 360, height: 640 };
    const { result, stagingDir } = await thumbnails(media.portrait, source);
    expect(result.posters).toEqual([
      { width: 320, height: 569, jpeg: "thumbnails/poster-320.jpg", webp: "thumbnails/poster-320.webp" },
    ]);
    expect(await checkPosters(stagingDir, result, source)).toBeGreaterThan(40);
    await checkStoryboard(stagingDir, result, source);
    // testsrc2's colour bars are vertical; turned upright they run across: the colour changes down
    // a column much more than along a row.
    const poster = sharp(join(stagingDir, "thumbnails/poster-320.jpg")).greyscale();
    const row = await poster.clone().extract({ left: 0, top: 400, width: 320, height: 1 }).toBuffer();
    const column = await poster.clone().extract({ left: 20, top: 0, width: 1, height: 569 }).toBuffer();
    const spread = async (strip: Buffer) => (await sharp(strip).stats()).channels[0]!.stdev;
    expect(await spread(column)).toBeGreaterThan(2 * (await spread(row)));
  });

  test("a single frame narrower than 320: one poster at its own width, one storyboard tile", async () => {
    const source = { durationSeconds: 0.04, width: 200, height: 150 };
    const { result, stagingDir } = await thumbnails(media.singleFrame, source);
    expect(result.posters.map((poster) => [poster.width, poster.height])).toEqual([[200, 150]]);
    expect(await checkPosters(stagingDir, result, source)).toBeGreaterThan(40);
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues.map((cue) => [cue.start, cue.end])).toEqual([[0, 40]]);
  });

  test("1 s of 4:3: one 320×240 poster, one tile up to the end", async () => {
    const source = { durationSeconds: 1, width: 320, height: 240 };
    const { result, stagingDir } = await thumbnails(media.oneSecond, source);
    expect(result.posters.map((poster) => [poster.width, poster.height])).toEqual([[320, 240]]);
    expect(await checkPosters(stagingDir, result, source)).toBeGreaterThan(40);
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues.map((cue) => [cue.start, cue.end, cue.w, cue.h])).toEqual([[0, 1000, 160, 120]]);
  });

  test("12 s: a tile every 2 s in one 6×1 sheet", async () => {
    const source = { durationSeconds: 12, width: 480, height: 270 };
    const { result, stagingDir } = await thumbnails(media.twelve, source);
    expect(result.posters.map((poster) => poster.width)).toEqual([320]);
    await checkPosters(stagingDir, result, source);
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues.map((cue) => cue.start)).toEqual([0, 2000, 4000, 6000, 8000, 10000]);
  });

  test("with a rung to sample: the storyboard is decoded from it, the posters still from the source", async () => {
    const source = { durationSeconds: 12, width: 480, height: 270 };
    const { result, stagingDir } = await thumbnails(media.twelve, source, undefined, {
      path: media.redRung,
      demuxer: "mov",
    });
    // The same grid and track as from the source itself (the rung has the film's aspect and timeline).
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues.map((cue) => cue.start)).toEqual([0, 2000, 4000, 6000, 8000, 10000]);
    const [red, green, blue] = (await sharp(join(stagingDir, result.storyboard!.sprites[0]!)).stats())
      .channels;
    expect({ red: red!.mean > 200, green: green!.mean < 40, blue: blue!.mean < 40 }).toEqual({
      red: true,
      green: true,
      blue: true,
    });
    // The posters are the source's detailed frames, not the plain rung.
    const poster = await sharp(join(stagingDir, result.posters.at(-1)!.jpeg)).stats();
    expect(poster.channels[1]!.mean).toBeGreaterThan(60);
    expect(poster.channels[0]!.stdev).toBeGreaterThan(20);
  });

  test("1100 s: a tile every 10 s, 110 tiles over two sprite sheets", async () => {
    const source = { durationSeconds: 1100, width: 64, height: 36 };
    const { result, stagingDir } = await thumbnails(media.long, source);
    const cues = await checkStoryboard(stagingDir, result, source);
    expect(cues).toHaveLength(110);
    expect(cues[100]).toMatchObject({ start: 1_000_000, sprite: "storyboard-1.jpg", x: 0, y: 0 });
    expect((await sharp(join(stagingDir, "thumbnails/storyboard-1.jpg")).metadata()).width).toBe(1600);
  });

  test("interval and tile caps", () => {
    expect(storyboardInterval(1)).toBe(2);
    expect(storyboardInterval(20)).toBe(2);
    expect(storyboardInterval(450)).toBe(5);
    expect(storyboardInterval(7200)).toBe(10);
    // Past 10 000 s the interval grows so that no video has more than 1000 tiles.
    expect(storyboardInterval(6 * 3600)).toBe(22);
    expect(tileCount(6 * 3600, 22)).toBeLessThanOrEqual(1000);
    expect(tileCount(20, 2)).toBe(10);
    expect(tileCount(20.5, 2)).toBe(11);
    expect(tileCount(0.5, 2)).toBe(1);
  });

  test("abort stops FFmpeg and rejects; nothing is left behind", async () => {
    const controller = new AbortController();
    const stagingDir = join(root, "staging-aborted");
    const outputDir = join(stagingDir, "thumbnails");
    const running = makeThumbnails({
      sourcePath: media.twelve,
      outputDir,
      source: { durationSeconds: 12, width: 480, height: 270 },
      signal: controller.signal,
    });
    // Abort while the storyboard's decoding pass (the long-running FFmpeg) is at work.
    const storyboardPass = () => processesUsing(media.twelve, "fps=fps=");
    const deadline = Date.now() + 10_000;
    while ((await storyboardPass()).length === 0 && Date.now() < deadline) await Bun.sleep(1);
    expect((await storyboardPass()).length).toBeGreaterThan(0);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: "AbortError" });
    expect(await processesUsing(media.twelve)).toEqual([]);
    expect(await readdir(stagingDir)).toEqual([]);
    expect(await leftoverTempDirs()).toEqual([]);
  });

  test("an already aborted signal rejects at once", async () => {
    const controller = new AbortController();
    controller.abort(new Error("job cancelled"));
    const outputDir = join(root, "staging-pre-aborted", "thumbnails");
    await expect(
      makeThumbnails({
        sourcePath: media.twelve,
        outputDir,
        source: { durationSeconds: 12, width: 480, height: 270 },
        signal: controller.signal,
      }),
    ).rejects.toThrow("job cancelled");
  });

  test("a file FFmpeg cannot read rejects with a clear error and cleans up", async () => {
    const notVideo = join(root, "notes.mp4");
    await writeFile(notVideo, "meeting notes\n".repeat(100));
    const stagingDir = join(root, "staging-broken");
    await mkdir(stagingDir);
    await expect(
      makeThumbnails({
        sourcePath: notVideo,
        outputDir: join(stagingDir, "thumbnails"),
        source: { durationSeconds: 6, width: 640, height: 360 },
      }),
    ).rejects.toThrow(/^thumbnails: FFmpeg exited with \d+ /);
    expect(await readdir(stagingDir)).toEqual([]);
    expect(await leftoverTempDirs()).toEqual([]);
    expect(await processesUsing(notVideo)).toEqual([]);
  });
});
