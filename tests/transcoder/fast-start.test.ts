// The fast-start pass on real FFmpeg and both storage drivers: while it runs, its published EVENT
// playlist is polled and every segment it lists is checked at once (it exists, it decodes, and it never
// changes afterwards); the playlist only grows; an attempt stopped halfway (lock lost, killed) leaves a
// playlist of whole segments, and the next attempt continues it without changing what was listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { generateVideo } from "../../dev/media.ts";
import { testS3 } from "../../dev/services.ts";
import { LocalMediaStorage, type MediaStorage } from "../../storage/index.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { decideFastStart } from "../../transcoder/fast-start/decision.ts";
import {
  type FastStartPlayable,
  PLAYABLE_AFTER_SEGMENTS,
  runFastStartPass,
} from "../../transcoder/fast-start/pass.ts";
import { eventPlaylist, listedSegments } from "../../transcoder/fast-start/playlist.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { probeSource, type SourceFacts } from "../../transcoder/probe.ts";
import { s3StorageFor } from "../support/s3-storage.ts";

const SEGMENT_SECONDS = 2;
const SOURCE_SECONDS = 24;

let dir: string;
let sourcePath: string;
let source: SourceFacts;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fast-start-"));
  sourcePath = await generateVideo(join(dir, "source.mp4"), {
    seconds: SOURCE_SECONDS,
    width: 854,
    height: 480,
    fps: 30,
    audio: "stereo",
  });
  source = await probeSource(sourcePath);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the EVENT playlist", () => {
  test("is an EVENT playlist that starts at the beginning, only grows, and ends with ENDLIST", () => {
    const segments = [
      { uri: "seg_00000.ts", durationSeconds: 2 },
      { uri: "seg_00001.ts", durationSeconds: 1.5 },
    ];
    const open = eventPlaylist(segments, 2, false);
    expect(open).toContain("#EXT-X-PLAYLIST-TYPE:EVENT");
    expect(open).toContain("#EXT-X-START:TIME-OFFSET=0");
    expect(open).toContain("#EXT-X-TARGETDURATION:2");
    expect(open).not.toContain("#EXT-X-ENDLIST");
    expect(listedSegments(open)).toEqual({ segments, ended: false });
    expect(listedSegments(eventPlaylist(segments, 2, true)).ended).toBe(true);
  });

  test("a playlist read half-written yields only whole entries", () => {
    const text = "#EXTM3U\n#EXTINF:2.000000,\nseg_00000.ts\n#EXTINF:2.000000,\nseg_000";
    expect(listedSegments(text).segments.map((segment) => segment.uri)).toEqual(["seg_00000.ts"]);
    expect(listedSegments("#EXTM3U\n#EXTINF:2.0,\n../escape.ts\n").segments).toEqual([]);
  });
});

describe("when a job gets the pass", () => {
  const base = {
    setting: "auto" as const,
    allowedByJob: true,
    durationSeconds: 600,
    minSeconds: 60,
    hwaccel: "none" as const,
    gpuLadderSpeed: null,
    unendedTree: false,
  };
  test("a long source on the CPU does; off, a short source or a job that forbids it does not", () => {
    expect(decideFastStart(base).run).toBe(true);
    expect(decideFastStart({ ...base, setting: "off" }).run).toBe(false);
    expect(decideFastStart({ ...base, durationSeconds: 59 }).run).toBe(false);
    expect(decideFastStart({ ...base, allowedByJob: false, setting: "on" }).run).toBe(false);
  });
  test("auto on a GPU skips it when the measured ladder beats real time; on runs it anyway", () => {
    const gpu = { ...base, hwaccel: "nvenc" as const, gpuLadderSpeed: 4 };
    expect(decideFastStart(gpu)).toMatchObject({ run: false, reason: expect.stringContaining("4.0×") });
    expect(decideFastStart({ ...gpu, gpuLadderSpeed: 0.8 }).run).toBe(true);
    expect(decideFastStart({ ...gpu, setting: "on" }).run).toBe(true);
  });
  test("an unended playlist of an earlier attempt is always continued: off, a fast GPU and the job's word aside", () => {
    const unended = { ...base, unendedTree: true };
    for (const input of [
      { ...unended, setting: "off" as const },
      { ...unended, hwaccel: "nvenc" as const, gpuLadderSpeed: 4 },
      { ...unended, allowedByJob: false },
    ]) {
      expect(decideFastStart(input)).toMatchObject({ run: true, reason: expect.stringContaining("unended") });
    }
  });
  test("FAST_START and FAST_START_MIN_SECONDS are read once, with their defaults", () => {
    expect(loadTranscoderConfig({})).toMatchObject({ fastStart: "auto", fastStartMinSeconds: 60 });
    expect(loadTranscoderConfig({ FAST_START: "off", FAST_START_MIN_SECONDS: "5" })).toMatchObject({
      fastStart: "off",
      fastStartMinSeconds: 5,
    });
    expect(() => loadTranscoderConfig({ FAST_START: "sometimes" })).toThrow(/FAST_START/);
  });
});

/** What a driver holds, for the poller: a playlist's text and a segment's bytes. */
interface Published {
  storage: MediaStorage;
  bytes(key: string): Promise<Uint8Array | null>;
}

/** Decodes a segment fully; throws on anything FFmpeg complains about. Returns its video frames. */
async function decodedFrames(bytes: Uint8Array): Promise<number> {
  const path = join(dir, `probe-${crypto.randomUUID()}.ts`);
  await writeFile(path, bytes);
  try {
    const result = await runProcess(
      [
        ...["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0"],
        ...["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
      ],
      { timeoutMs: 30_000 },
    );
    expect(result.stderr.trim()).toBe("");
    expect(result.exitCode).toBe(0);
    // MPEG-TS lists the stream under its program too: the first line is enough.
    return Number(result.stdout.trim().split("\n")[0]);
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * Polls the published playlist while `running` runs: every segment it lists must exist at once, decode
 * whole (a full segment's frames, but for the last), and keep its bytes to the end; the playlist may only
 * grow. Returns the last text seen and how many polls saw a segment listed.
 */
async function watchWhile(published: Published, prefix: string, running: Promise<unknown>) {
  const key = `${prefix}/360p/index.m3u8`;
  const seen = new Map<string, number>();
  let previous: string[] = [];
  let done = false;
  let last = "";
  const finish = () => {
    done = true;
  };
  running.then(finish, finish);
  const poll = async () => {
    const text = await published.storage.readText(key);
    if (text === null) return;
    last = text;
    const { segments, ended } = listedSegments(text);
    const uris = segments.map((segment) => segment.uri);
    expect(uris.slice(0, previous.length)).toEqual(previous);
    previous = uris;
    for (const [index, segment] of segments.entries()) {
      if (seen.has(segment.uri)) continue;
      const bytes = await published.bytes(`${prefix}/360p/${segment.uri}`);
      expect(bytes, `${segment.uri} is listed but missing`).not.toBeNull();
      const frames = await decodedFrames(bytes!);
      const isLast = ended && index === segments.length - 1;
      if (!isLast) expect(Math.abs(frames - SEGMENT_SECONDS * 30)).toBeLessThanOrEqual(1);
      seen.set(segment.uri, bytes!.byteLength);
    }
  };
  let polls = 0;
  while (!done) {
    await poll();
    polls += 1;
    await Bun.sleep(50);
  }
  await running.catch(() => {});
  await poll();
  // Published once, never rewritten: the bytes listed are the bytes at the end.
  for (const [uri, size] of seen) {
    expect((await published.bytes(`${prefix}/360p/${uri}`))?.byteLength).toBe(size);
  }
  return { last, seen: seen.size, polls };
}

const pass = (
  storage: MediaStorage,
  prefix: string,
  extra: Partial<Parameters<typeof runFastStartPass>[0]> = {},
) =>
  mkdtemp(join(dir, "staging-")).then((stagingDir) =>
    runFastStartPass({
      sourcePath,
      source,
      segmentSeconds: SEGMENT_SECONDS,
      storage,
      prefix,
      stagingDir,
      beforePublish: async () => {},
      onPlayable: async () => {},
      ...extra,
    }),
  );

function driverTests(name: string, open: () => Promise<Published>) {
  describe(`the pass on the ${name} driver`, () => {
    let published: Published;
    beforeAll(async () => {
      published = await open();
    }, 60_000);

    test("lists only whole, published segments at every moment; announces playable with its rendition once", async () => {
      const prefix = fastStartPrefixFor(1, 1);
      const playable: FastStartPlayable[] = [];
      const running = pass(published.storage, prefix, {
        onPlayable: async (facts) => {
          // The master and the first segments are there when the api hears of it: enough listed that a
          // player starting now has a segment's margin for its first playlist reload.
          expect(await published.storage.readText(`${prefix}/master.m3u8`)).toContain("360p/index.m3u8");
          const listed = listedSegments(
            (await published.storage.readText(`${prefix}/360p/index.m3u8`)) ?? "",
          );
          expect(listed.segments.length).toBeGreaterThanOrEqual(PLAYABLE_AFTER_SEGMENTS);
          playable.push(facts);
        },
      });
      const watched = await watchWhile(published, prefix, running);
      const outcome = await running;
      expect(playable).toHaveLength(1);
      expect(playable[0]!.rendition).toMatchObject({ name: "360p", width: 640, height: 360 });
      expect(playable[0]!.rendition.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      const final = listedSegments(watched.last);
      expect(final.ended).toBe(true);
      expect(final.segments).toHaveLength(SOURCE_SECONDS / SEGMENT_SECONDS);
      expect(outcome.segments).toBe(final.segments.length);
      const total = final.segments.reduce((sum, segment) => sum + segment.durationSeconds, 0);
      expect(Math.abs(total - SOURCE_SECONDS)).toBeLessThan(0.5);
      expect(watched.seen).toBe(final.segments.length);
      expect(watched.polls).toBeGreaterThan(1);
    }, 120_000);

    test("an attempt that loses its lock halfway leaves whole segments; the next one continues the same playlist", async () => {
      const prefix = fastStartPrefixFor(2, 1);
      let syncs = 0;
      const lost = pass(published.storage, prefix, {
        beforePublish: async () => {
          syncs += 1;
          if (syncs > 3) throw new Error("lost the lock");
        },
      });
      const first = await watchWhile(published, prefix, lost);
      await expect(lost).rejects.toThrow("lost the lock");
      const before = listedSegments(first.last);
      expect(before.ended).toBe(false);
      expect(before.segments.length).toBeGreaterThan(0);
      expect(before.segments.length).toBeLessThan(SOURCE_SECONDS / SEGMENT_SECONDS);

      const retry = pass(published.storage, prefix);
      const second = await watchWhile(published, prefix, retry);
      const outcome = await retry;
      expect(outcome.resumed).toBe(before.segments.length);
      const after = listedSegments(second.last);
      expect(after.ended).toBe(true);
      expect(after.segments.slice(0, before.segments.length)).toEqual(before.segments);
      expect(after.segments).toHaveLength(SOURCE_SECONDS / SEGMENT_SECONDS);
    }, 120_000);

    test("a pass stopped outright (its worker killed) is continued; a finished one is only announced again", async () => {
      const prefix = fastStartPrefixFor(3, 1);
      const controller = new AbortController();
      const killed = pass(published.storage, prefix, {
        signal: controller.signal,
        onPlayable: async () => controller.abort(new Error("killed")),
      });
      await expect(killed).rejects.toThrow();
      const halfway = listedSegments((await published.storage.readText(`${prefix}/360p/index.m3u8`))!);
      expect(halfway.ended).toBe(false);
      const finished = await pass(published.storage, prefix);
      expect(finished.resumed).toBe(halfway.segments.length);

      const announced: FastStartPlayable[] = [];
      const again = await pass(published.storage, prefix, {
        onPlayable: async (facts) => void announced.push(facts),
      });
      expect(again).toMatchObject({ speed: null, resumed: SOURCE_SECONDS / SEGMENT_SECONDS });
      expect(announced[0]?.rendition.name).toBe("360p");
    }, 120_000);
  });
}

driverTests("local", async () => {
  const root = await mkdtemp(join(dir, "media-"));
  const storage = new LocalMediaStorage(root);
  return {
    storage,
    bytes: async (key) => {
      const file = Bun.file(storage.localPath(key));
      return (await file.exists()) ? new Uint8Array(await file.arrayBuffer()) : null;
    },
  };
});

let dropBucket: (() => Promise<void>) | undefined;
afterAll(async () => {
  await dropBucket?.();
});
driverTests("S3", async () => {
  const bucket = await testS3();
  dropBucket = bucket.drop;
  const storage = s3StorageFor(bucket, "fast-start/", dir);
  return {
    storage,
    bytes: async (key) => {
      const url = storage.presign(key, 60);
      const response = await fetch(url);
      return response.status === 200 ? new Uint8Array(await response.arrayBuffer()) : null;
    },
  };
});
