// One encoder per film when GPU and CPU replicas share the farm (transcoder/chunks/film-encoder.ts):
// the choice from the transcoders online, and what each replica encodes a piece with.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Queue } from "bullmq";
import Redis from "ioredis";
import pino from "pino";
import { TRANSCODERS_KEY, TRANSCODERS_SEEN_KEY } from "../../contract/transcoder-heartbeats.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { LocalMediaStorage } from "../../storage/index.ts";
import {
  chooseFilmEncoder,
  cutsFilmsHere,
  filmEncoderFor,
  onlineEncoders,
  pieceHwAccel,
} from "../../transcoder/chunks/film-encoder.ts";
import { type FilmContext, filmFarmOf } from "../../transcoder/chunks/worker-pieces.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";
import { Heartbeat } from "../../transcoder/heartbeat.ts";
import { encoderOfMode, type HwAccelMode } from "../../transcoder/hwaccel/modes.ts";

describe("the film's encoder", () => {
  test("NVENC only when the planning replica and every transcoder online encode NVENC", () => {
    expect(chooseFilmEncoder("nvenc", ["h264_nvenc", "h264_nvenc"])).toBe("h264_nvenc");
    expect(chooseFilmEncoder("nvenc", ["h264_nvenc", "libx264"])).toBe("libx264");
    // Its own heartbeat not written yet: the farm online is what decides.
    expect(chooseFilmEncoder("nvenc", [])).toBe("h264_nvenc");
    expect(chooseFilmEncoder("cuda-decode", ["h264_nvenc"])).toBe("libx264");
    expect(chooseFilmEncoder("none", ["h264_nvenc"])).toBe("libx264");
  });

  test("CHUNKING=auto: films are cut everywhere but on an NVENC replica of a farm with CPU replicas", () => {
    // An all-NVENC farm: NVENC films cut across the GPUs.
    expect(cutsFilmsHere("nvenc", chooseFilmEncoder("nvenc", ["h264_nvenc", "h264_nvenc"]))).toBe(true);
    // A CPU replica online: the film stays one NVENC job on this GPU instead of an x264 film everywhere.
    expect(cutsFilmsHere("nvenc", chooseFilmEncoder("nvenc", ["h264_nvenc", "libx264"]))).toBe(false);
    // Replicas without NVENC cut their films (x264) whatever else is online.
    for (const own of ["none", "cuda-decode"] as const) {
      expect(cutsFilmsHere(own, chooseFilmEncoder(own, ["h264_nvenc", "libx264"]))).toBe(true);
      expect(cutsFilmsHere(own, chooseFilmEncoder(own, ["h264_nvenc"]))).toBe(true);
    }
  });

  test("the encoder a replica's heartbeat shows", () => {
    expect(encoderOfMode("nvenc")).toBe("h264_nvenc");
    expect(encoderOfMode("cuda-decode")).toBe("libx264");
    expect(encoderOfMode("none")).toBe("libx264");
  });
});

describe("a piece on a replica", () => {
  const modes: HwAccelMode[] = ["none", "cuda-decode", "nvenc"];

  test("an x264 piece is encoded by every replica through the CPU replicas' very chain", () => {
    expect(modes.map((own) => pieceHwAccel("libx264", own))).toEqual(["none", "none", "none"]);
  });

  test("an NVENC piece only by a replica with NVENC", () => {
    expect(modes.map((own) => pieceHwAccel("h264_nvenc", own))).toEqual([null, null, "nvenc"]);
  });

  test("a piece of an older transcoder (no encoder recorded) with the replica's own, as that version did", () => {
    expect(modes.map((own) => pieceHwAccel(undefined, own))).toEqual(modes);
  });
});

describe("the transcoders online", () => {
  let redis: Redis;
  const beats: Heartbeat[] = [];
  const online = (name: string, hwaccel: HwAccelMode) => {
    const beat = new Heartbeat({
      redis,
      name,
      hwaccel,
      concurrency: 1,
      jobs: () => [],
      log: pino({ level: "silent" }),
    });
    beats.push(beat);
    return beat.beat().then(() => beat);
  };

  beforeAll(async () => {
    redis = new Redis(await testRedisUrl());
    // Heartbeats of other tests' transcoders in this database would count as farm members here.
    await redis.del(TRANSCODERS_KEY, TRANSCODERS_SEEN_KEY);
  });

  afterAll(async () => {
    await Promise.all(beats.map((beat) => beat.stop()));
    redis.disconnect();
  });

  test("a film planned on a GPU replica is NVENC in an all-NVENC farm, x264 once a CPU replica is online", async () => {
    await online("gpu-1", "nvenc");
    await online("gpu-2", "nvenc");
    expect((await onlineEncoders(redis)).sort()).toEqual(["h264_nvenc", "h264_nvenc"]);
    expect(await filmEncoderFor(redis, "nvenc")).toBe("h264_nvenc");
    // A CPU replica never plans NVENC, whoever is online.
    expect(await filmEncoderFor(redis, "none")).toBe("libx264");

    const cpu = await online("cpu-1", "none");
    expect(await filmEncoderFor(redis, "nvenc")).toBe("libx264");
    // It leaves (a graceful stop takes its heartbeat out at once): NVENC again.
    await cpu.stop();
    expect(await filmEncoderFor(redis, "nvenc")).toBe("h264_nvenc");
  });

  test("the farm a film's run hands its chunks to says whether it cuts the film, from the farm online", async () => {
    const queue = new Queue(`film-encoder-${process.pid}`, { connection: redis });
    const farmOf = (hwaccel: HwAccelMode, CHUNKING: string) =>
      filmFarmOf({
        queue,
        storage: new LocalMediaStorage("/nonexistent"),
        config: loadTranscoderConfig({ CHUNKING }),
        redis,
        hwaccel,
        // cutsFilm reads nothing of the film's job: the farm online and this replica decide.
      })({ jobLog: pino({ level: "silent" }) } as FilmContext);
    try {
      // The two NVENC replicas above are online.
      expect(await farmOf("nvenc", "auto").cutsFilm()).toBe(true);
      const cpu = await online("cpu-2", "none");
      // CHUNKING=auto: the GPU replica keeps its film whole; CHUNKING=on cuts it (in x264); a CPU
      // replica cuts its films whoever is online.
      expect(await farmOf("nvenc", "auto").cutsFilm()).toBe(false);
      expect(await farmOf("nvenc", "on").cutsFilm()).toBe(true);
      expect(await farmOf("none", "auto").cutsFilm()).toBe(true);
      await cpu.stop();
      expect(await farmOf("nvenc", "auto").cutsFilm()).toBe(true);
    } finally {
      await queue.close();
    }
  });
});
