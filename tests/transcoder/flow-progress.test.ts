// A film's progress while many replicas encode its pieces (transcoder/chunks/flow-progress.ts), on a real
// Redis: every piece's tick tells the whole film's share done and an ETA from the flow's first tick, a
// piece's later tick replaces its earlier one, and two flows never mix; ticks that cross on their way
// to Redis are published in the order of the snapshots they were computed from.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { progressChannel, progressKey, type TranscodeProgress } from "../../contract/progress.ts";
import type { PieceOfFilm, TranscodePieceJob } from "../../contract/transcode-pieces.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { filmTick } from "../../transcoder/chunks/film-tick.ts";
import {
  filmWeight,
  flowProgressKey,
  pieceWeight,
  recordFastStartProgress,
  recordPieceProgress,
} from "../../transcoder/chunks/flow-progress.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await testRedisUrl());
});
afterAll(() => redis?.disconnect());

/** A two-minute film with sound, cut at 60 s: two chunks and the sound's piece. */
const source = {
  durationSeconds: 120,
  videoDurationSeconds: 120,
  audio: { channels: 2, sampleRate: 48_000, codec: "aac" },
} as TranscodePieceJob["source"];
const FIRST: PieceOfFilm = { kind: "chunk", index: 0, startSeconds: 0, endSeconds: 60 };
const LAST: PieceOfFilm = { kind: "chunk", index: 1, startSeconds: 60, endSeconds: null };
const AUDIO: PieceOfFilm = { kind: "audio" };

const pieceOf = (piece: PieceOfFilm, flow: string) => ({
  piece,
  source,
  scratchPrefix: `scratch/flows/test-${flow}`,
});

describe("a film's progress summed over its pieces", () => {
  test("a piece weighs its film seconds; the sound little; the film all of them", () => {
    expect(pieceWeight(pieceOf(FIRST, "w"))).toBe(60);
    expect(pieceWeight(pieceOf(LAST, "w"))).toBe(60);
    expect(pieceWeight(pieceOf(AUDIO, "w"))).toBeCloseTo(3.6, 6);
    expect(filmWeight(source)).toBeCloseTo(123.6, 6);
    expect(filmWeight({ ...source, audio: null })).toBe(120);
  });

  test("each tick gives the whole film's share and an ETA from the flow's first tick", async () => {
    const flow = crypto.randomUUID().slice(0, 8);
    const start = 1_000_000;
    const first = await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 0.5, start);
    expect(first.fraction).toBeCloseTo(30 / 123.6, 6);
    expect(first.etaSeconds).toBeNull(); // no time has passed since the flow's first tick

    // Ten seconds later another replica's piece is half done too: the film is 60 of 123.6 done, and
    // what is left takes as long again as that took, whatever the number of replicas.
    const second = await recordPieceProgress(redis, pieceOf(LAST, flow), "chunk-1", 0.5, start + 10_000);
    expect(second.fraction).toBeCloseTo(60 / 123.6, 6);
    expect(second.etaSeconds).toBe(Math.round((10 * (1 - 60 / 123.6)) / (60 / 123.6)));

    // A piece's later tick replaces its own earlier one, never adds to it.
    const again = await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 0.5, start + 11_000);
    expect(again.fraction).toBeCloseTo(60 / 123.6, 6);

    await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 1, start + 20_000);
    await recordPieceProgress(redis, pieceOf(LAST, flow), "chunk-1", 1, start + 20_000);
    const done = await recordPieceProgress(redis, pieceOf(AUDIO, flow), "audio", 1, start + 21_000);
    // Six writes to the flow's hash: the sixth snapshot.
    expect(done).toEqual({
      fraction: 1,
      etaSeconds: 0,
      fastStart: null,
      order: { key: flowProgressKey(pieceOf(AUDIO, flow)), seq: 6 },
    });
  });

  test("fractions outside 0–1 are clamped, flows are kept apart, and a flow's hash expires by itself", async () => {
    const [a, b] = [crypto.randomUUID().slice(0, 8), crypto.randomUUID().slice(0, 8)];
    const over = await recordPieceProgress(redis, pieceOf(FIRST, a), "chunk-0", 7, 0);
    expect(over.fraction).toBeCloseTo(60 / 123.6, 6);
    const under = await recordPieceProgress(redis, pieceOf(LAST, b), "chunk-1", -3, 0);
    expect(under.fraction).toBe(0);

    const ttl = await redis.ttl(flowProgressKey(pieceOf(FIRST, a)));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
  });
});

describe("a film with a fast-start pass beside its pieces", () => {
  test("the pass's ticks and the pieces' tell the same job percent and both passes", async () => {
    const flow = crypto.randomUUID().slice(0, 8);
    const film = { source, scratchPrefix: `scratch/flows/test-${flow}` };
    const start = 2_000_000;
    // Marked before the pieces are added: their first tick counts the pass already.
    const marked = await recordFastStartProgress(redis, film, { percent: 0, etaSeconds: null }, start);
    expect(marked).toEqual({
      fraction: 0,
      etaSeconds: null,
      fastStart: { percent: 0, etaSeconds: null },
      order: { key: flowProgressKey(film), seq: 1 },
    });
    const piece = filmTick(await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 0.5, start));
    // 2 % probing, then the pass's 13 points and the ladder's 75: 24.3 % of the ladder is 18.2 of them.
    expect(piece).toMatchObject({ stage: "fast-start", rung: "fast-start", percent: 20.2 });
    expect(piece.passes?.fastStart).toEqual({ percent: 0, etaSeconds: null });
    expect(piece.passes?.ladder?.percent).toBe(24.3);

    // The pass's own tick, a second later: the same ladder share, its own percent, speed and ETA.
    const pass = filmTick(
      await recordFastStartProgress(redis, film, { percent: 50, etaSeconds: 30, speed: 3.5 }, start + 1_000),
    );
    expect(pass.percent).toBe(26.7);
    expect(pass.passes?.fastStart).toEqual({ percent: 50, etaSeconds: 30, speed: 3.5 });
    expect(pass.passes?.ladder?.percent).toBe(24.3);
    // And the next piece's tick keeps the pass's: no tick sets the other's share back.
    const next = filmTick(
      await recordPieceProgress(redis, pieceOf(LAST, flow), "chunk-1", 0.5, start + 2_000),
    );
    expect(next.percent).toBe(44.9);
    expect(next.passes?.fastStart?.percent).toBe(50);

    // Done, the pass leaves the ladder: the stage is the encoding's, the job 15 % and the ladder's share.
    const after = filmTick(
      await recordFastStartProgress(redis, film, { percent: 100, etaSeconds: 0 }, start + 3_000),
    );
    expect(after).toMatchObject({ stage: "encoding", rung: "all", percent: 51.4 });
  });

  test("a pass decided against leaves the pieces the whole encoding slice, without passes", async () => {
    const flow = crypto.randomUUID().slice(0, 8);
    const film = { source, scratchPrefix: `scratch/flows/test-${flow}` };
    await recordFastStartProgress(redis, film, { percent: 0, etaSeconds: null }, 0);
    await recordFastStartProgress(redis, film, "skipped", 0);
    const tick = filmTick(await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 1, 0));
    expect(tick).toEqual({
      stage: "encoding",
      rung: "all",
      percent: 44.7,
      etaSeconds: null,
      order: { key: flowProgressKey(film), seq: 3 },
    });
  });
});

describe("two replicas' ticks that cross on their way to Redis", () => {
  test("go out in the order of the snapshots they were computed from: the later one is never undone", async () => {
    const flow = crypto.randomUUID().slice(0, 8);
    const videoId = 900_000 + Math.floor(Math.random() * 99_999);
    const reporter = new TranscodeReporter(redis, redis);
    const subscriber = redis.duplicate();
    const heard: TranscodeProgress[] = [];
    try {
      await subscriber.subscribe(progressChannel.nameOn(redis));
      subscriber.on("message", (_channel, text: string) => {
        const tick = progressChannel.decode(text);
        if (tick.ok && tick.value.videoId === videoId) heard.push(tick.value);
      });
      const send = (film: Awaited<ReturnType<typeof recordPieceProgress>>) => {
        const { order, ...tick } = filmTick(film);
        return reporter.progress({ videoId, revision: 1, ...tick }, order);
      };
      // Replica A computes its tick, then replica B computes a later one, and B's reaches Redis first.
      const earlier = await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 0.25, 0);
      const later = await recordPieceProgress(redis, pieceOf(LAST, flow), "chunk-1", 0.5, 1_000);
      expect(later.order.seq).toBe(earlier.order.seq + 1);
      await send(later);
      await send(earlier);
      const kept = progressChannel.decode((await redis.get(progressKey(videoId)))!);
      expect(kept.ok && kept.value.percent).toBe(filmTick(later).percent);
      // A tick with no order (a one-host job's, or the stitch's stages) always goes out.
      await reporter.progress({ videoId, revision: 1, stage: "verifying", percent: 91, etaSeconds: null });
      // The next snapshot's tick goes out again.
      await send(await recordPieceProgress(redis, pieceOf(FIRST, flow), "chunk-0", 1, 2_000));
      const deadline = Date.now() + 5_000;
      while (heard.length < 3 && Date.now() < deadline) await Bun.sleep(10);
      expect(heard.map((tick) => tick.percent)).toEqual([
        filmTick(later).percent,
        91,
        overallPercentOfFilm(90 / 123.6),
      ]);
      // A tick whose flow hash is gone (expired) is dropped, and the hash is not made again without
      // its TTL.
      const before = await redis.get(progressKey(videoId));
      await redis.del(later.order.key);
      const { order: _, ...late } = filmTick(later);
      await reporter.progress({ videoId, revision: 1, ...late }, { key: later.order.key, seq: 99 });
      expect(await redis.exists(later.order.key)).toBe(0);
      expect(await redis.get(progressKey(videoId))).toBe(before);
    } finally {
      subscriber.disconnect();
      await reporter.close();
    }
  });
});

/** The job percent of a film without a fast-start pass that is `fraction` done (filmTick's). */
const overallPercentOfFilm = (fraction: number) =>
  filmTick({
    fraction: Math.round(fraction * 1e6) / 1e6,
    etaSeconds: null,
    fastStart: null,
    order: { key: "", seq: 0 },
  }).percent;
