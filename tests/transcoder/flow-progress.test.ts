// A film's progress while many replicas encode its pieces (transcoder/chunks/flow-progress.ts), on a real
// Redis: every piece's tick tells the whole film's share done and an ETA from the flow's first tick, a
// piece's later tick replaces its earlier one, and two flows never mix.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import type { PieceOfFilm, TranscodePieceJob } from "../../contract/transcode-pieces.ts";
import { testRedisUrl } from "../../dev/services.ts";
import {
  filmWeight,
  flowProgressKey,
  pieceWeight,
  recordPieceProgress,
} from "../../transcoder/chunks/flow-progress.ts";

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
    expect(done).toEqual({ fraction: 1, etaSeconds: 0 });
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
