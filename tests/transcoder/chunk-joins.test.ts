// The chunked ladder's joins on the sources that are hard to cut, each against the one-pass ladder of
// the same source (320x180, 2 s segments, one segment per chunk: a join every 2 s). Every frame carries
// its number and a flash with a beep once a second (tests/support/marked-film.ts), so the tests see which
// frame is shown under each timestamp, not only that the timestamps look regular:
// - AVI at 23.976 (time base 1001/24000: a seek offset rounded by a filter shifted whole chunks a frame);
// - 59.94 fps halved to 29.97 by maxFrameRate 30 (trim rounded to the fps filter's ticks: a chunk began
//   a frame early and the forced keyframe slid off the segment grid);
// - MKV whose picture starts 23 ms after its sound and loses one frame in 50 (the HLS muxer filled the
//   gaps, the chunks' MPEG-TS did not);
// - a 31 s film with B-frames: its last segment is 1 s, its last chunk 3 s;
// - MPEG-TS with x264's 250-frame GOP and its sound first: it cannot be cut (chunks/plan.ts), and a
//   chunk forced on it fails with one clear sentence instead of silently losing its first frames.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeChunk } from "../../transcoder/chunks/encode.ts";
import { chooseLadder } from "../../transcoder/ladder.ts";
import { type TranscodeOptions, transcode } from "../../transcoder/pipeline.ts";
import { probeSource } from "../../transcoder/probe.ts";
import {
  avOffsets,
  FLASH_ID,
  flashesAndBeeps,
  type MarkedFilm,
  rateValue,
  segmentPackets,
  shownFrames,
  writeMarkedFilm,
} from "../support/marked-film.ts";

const X264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "48"];
const AAC = ["-c:a", "aac", "-b:a", "96k"];

interface Case {
  film: MarkedFilm;
  maxFrameRate?: number;
  /** The chunks the 2 s grid makes of it. */
  chunks: number;
  /** Segments per chunk (default 1: a join at every segment). */
  segments?: number;
  /** The source's frames the rung shows, in order: frame i of the output is source frame i·step. */
  step?: number;
}

const CASES: Record<string, Case> = {
  "AVI at 23.976": {
    // No B-frames: AVI has no presentation times, its muxer would put the picture 2 frames late.
    film: {
      rate: "24000/1001",
      seconds: 12,
      ext: "avi",
      video: [...X264, "-bf", "0"],
      audio: ["-c:a", "pcm_s16le"],
    },
    chunks: 6,
    step: 1,
  },
  "59.94 fps with maxFrameRate 30": {
    film: { rate: "60000/1001", seconds: 12, ext: "mp4", video: [...X264, "-bf", "3"], audio: AAC },
    maxFrameRate: 30,
    chunks: 6,
    step: 2,
  },
  "MKV, picture 23 ms after the sound, one frame in 50 lost": {
    film: { rate: "30", seconds: 12, ext: "mkv", video: X264, audio: AAC, videoDelay: 0.023, dropEvery: 50 },
    chunks: 6,
  },
  "31 s with B-frames (short last chunk)": {
    film: { rate: "30000/1001", seconds: 31, ext: "mp4", video: [...X264, "-bf", "3"], audio: AAC },
    chunks: 15,
    step: 1,
  },
  // 2 s is 59.94 frames: counted from each chunk's start instead of the film's, the keyframes inside a
  // 20 s chunk slid a frame off the one pass's grid from 34 s on.
  "40 s at 29.97 in 20 s chunks": {
    film: { rate: "30000/1001", seconds: 40, ext: "mp4", video: X264, audio: AAC },
    chunks: 2,
    segments: 10,
    step: 1,
  },
};

interface Run {
  dir: string;
  chunks: number | undefined;
}
const runs: Record<string, { one: Run; chunked: Run; source: string }> = {};
let dir: string;

async function run(name: string, source: string, c: Case, minSeconds: number): Promise<Run> {
  const out: Run = { dir: join(dir, `${name}-${minSeconds}`), chunks: undefined };
  const options: TranscodeOptions = {
    sourcePath: source,
    outputDir: out.dir,
    ladderHeights: [180],
    ladder: c.maxFrameRate ? { maxFrameRate: c.maxFrameRate } : undefined,
    segmentSeconds: 2,
    preset: "veryfast",
    thumbnails: false,
    chunking: { minSeconds, segments: c.segments ?? 1, scratchDir: `${out.dir}-scratch` },
    log: {
      debug() {},
      warn() {},
      info: (details) => {
        const chunks = (details as { chunks?: number }).chunks;
        if (chunks !== undefined) out.chunks = chunks;
      },
    },
  };
  await transcode(options);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chunk-joins-"));
  for (const [i, [name, c]] of Object.entries(CASES).entries()) {
    const source = await writeMarkedFilm(dir, `case${i}`, c.film);
    // CHUNK_MIN_SECONDS 1000: one pass; 3: cut on the 2 s grid.
    const one = await run(`case${i}`, source, c, 1000);
    const chunked = await run(`case${i}`, source, c, 3);
    runs[name] = { one, chunked, source };
  }
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A media playlist's last EXTINF, and the text without it. */
function lastExtinf(text: string): { seconds: number; rest: string } {
  const all = [...text.matchAll(/^#EXTINF:([0-9.]+),$/gm)];
  const last = all.at(-1)!;
  return {
    seconds: Number(last[1]),
    rest: text.slice(0, last.index) + text.slice(last.index + last[0].length),
  };
}

const playlist = (r: Run) => join(r.dir, "180p", "index.m3u8");
const segmentsOf = async (r: Run) => (await Bun.file(playlist(r)).text()).match(/^seg_\d{5}\.ts$/gm) ?? [];

for (const [name, c] of Object.entries(CASES)) {
  describe(name, () => {
    const frameSeconds = 1 / Math.min(rateValue(c.film.rate), c.maxFrameRate ?? Number.POSITIVE_INFINITY);

    test("is cut on the 2 s grid, and the media playlist is the one-pass ladder's text", async () => {
      const { one, chunked } = runs[name]!;
      expect(one.chunks).toBe(0);
      expect(chunked.chunks).toBe(c.chunks);
      const text = await Bun.file(playlist(chunked)).text();
      const [stitched, whole] = [lastExtinf(text), lastExtinf(await Bun.file(playlist(one)).text())];
      expect(stitched.rest).toBe(whole.rest);
      // The HLS muxer adds up the last segment's packet durations: the encoder's 1/rate rounds to the
      // 90 kHz tick (23.976: 3754), the MPEG-TS demuxer's guess in the stitch rounds down (3753), so at
      // rates whose frame is no whole tick the last EXTINF is one tick per frame short (48 × 1/90000).
      expect(Math.abs(stitched.seconds - whole.seconds)).toBeLessThan(0.001);
      expect(text).not.toContain("DISCONTINUITY");
    });

    test("every frame across every join is the one pass's frame, under the same timestamp", async () => {
      const { one, chunked } = runs[name]!;
      const stitched = await shownFrames(playlist(chunked));
      expect(stitched).toEqual(await shownFrames(playlist(one)));
      if (c.step) {
        // Nothing dropped, doubled or shifted against the source either.
        const ids = stitched.map((frame) => frame.id);
        const expected = ids.map((id, i) => (id === FLASH_ID ? FLASH_ID : (i * c.step!) % 13));
        expect(ids).toEqual(expected);
        expect(stitched.length).toBe(Math.ceil(c.film.seconds / frameSeconds));
      }
    });

    test("every segment holds exactly one keyframe, its first frame, 2 s (to a frame) after the last", async () => {
      for (const r of [runs[name]!.one, runs[name]!.chunked]) {
        const segments = await segmentsOf(r);
        expect(segments.length).toBeGreaterThanOrEqual(c.chunks);
        const packets = await segmentPackets(join(r.dir, "180p"), segments);
        for (const segment of packets) {
          expect(segment.filter((p) => p.key)).toHaveLength(1);
          expect(segment[0]!.key).toBe(true);
          expect(segment[0]!.seconds).toBe(Math.min(...segment.map((p) => p.seconds)));
        }
        // A keyframe that slid off the grid made a 3.97 s segment and a 0.03 s one.
        const keys = packets.map((segment) => segment[0]!.seconds);
        for (const [n, key] of keys.slice(1).entries()) {
          expect(Math.abs(key - keys[n]! - 2)).toBeLessThanOrEqual(frameSeconds + 0.001);
        }
      }
    });

    test("the sound stays with the picture: each beep where the source has it, as in one pass", async () => {
      const { one, chunked, source } = runs[name]!;
      const stitched = avOffsets(await flashesAndBeeps(playlist(chunked)));
      const whole = avOffsets(await flashesAndBeeps(playlist(one)));
      // The source's own offset (0, or the MKV's late picture); the frame grid moves a frame by up to
      // half a frame.
      const own = avOffsets(await flashesAndBeeps(source));
      const sourceOffset = own.reduce((sum, x) => sum + x, 0) / own.length;
      expect(stitched.length).toBeGreaterThanOrEqual(c.film.seconds - 1);
      expect(stitched.length).toBe(whole.length);
      for (const [i, offset] of stitched.entries()) {
        expect(Math.abs(offset - sourceOffset)).toBeLessThanOrEqual(frameSeconds / 2 + 0.001);
        expect(Math.abs(offset - whole[i]!)).toBeLessThan(0.001);
      }
    });
  });
}

describe("MPEG-TS with a 250-frame GOP and its sound first", () => {
  const film: MarkedFilm = {
    rate: "30000/1001",
    seconds: 12,
    ext: "ts",
    // A keyframe every 250 frames only (every frame's grey changes: no scene cuts either).
    video: ["-c:v", "libx264", "-preset", "veryfast", "-g", "250", "-sc_threshold", "0"],
    audio: AAC,
    videoDelay: 0.05,
  };
  let source: string;
  beforeAll(async () => {
    source = await writeMarkedFilm(dir, "long-gop", film);
  }, 120_000);

  test("takes the one-job path however long it is", async () => {
    const r = await run("long-gop", source, { film, chunks: 0 }, 3);
    expect(r.chunks).toBe(0);
    const packets = await segmentPackets(join(r.dir, "180p"), await segmentsOf(r));
    for (const segment of packets) expect(segment.filter((p) => p.key)).toHaveLength(1);
  }, 120_000);

  test("a chunk cut from it anyway fails with one sentence instead of losing its first frames", async () => {
    const probed = await probeSource(source);
    const ladder = chooseLadder(probed, { heights: [180] });
    const chunk = { index: 1, startSeconds: 2, endSeconds: 10 };
    // The seek lands on the first packet after 1 s; the next keyframe is frame 250 (8.3 s).
    const encoded = encodeChunk({
      sourcePath: source,
      outputPath: join(dir, "forced", "chunk_00001.ts"),
      source: probed,
      ladder,
      segmentSeconds: 2,
      chunk,
      videoSeconds: 12,
    });
    await expect(encoded).rejects.toThrow(/^chunk 1 should start at 2 s but has its first frame at 8\.\d+ s/);
  }, 120_000);
});
