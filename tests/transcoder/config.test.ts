// The transcoder's settings: read once at start-up, every bad value refused with its variable's name
// (transcoder/main.ts then exits 78 with that line before connecting to anything).
import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../../config/env.ts";
import { loadTranscoderConfig } from "../../transcoder/config.ts";

describe("loadTranscoderConfig", () => {
  test("defaults: CPU encoding, the full ladder, one job at a time, metrics on loopback", () => {
    const config = loadTranscoderConfig({});
    expect(config).toMatchObject({
      redisUrl: "redis://127.0.0.1:6379",
      storage: { kind: "local", mediaRoot: "./var/media" },
      hwaccel: "none",
      preset: "veryfast",
      segmentSeconds: 6,
      ladderHeights: [360, 480, 720, 1080],
      concurrency: 1,
      shutdownGraceSeconds: 20,
      stalledIntervalSeconds: 30,
      logLevel: "info",
      metricsPort: 9464,
      metricsHost: "127.0.0.1",
      minFreeBytes: 256 * 1024 * 1024,
      spacePollSeconds: 10,
      sourceCache: { maxBytes: 20 * 1024 ** 3, idleSeconds: 900 },
    });
    expect(config.workerName).toBe(`transcoder-${process.pid}`);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("films of 120 s and more are cut into chunks of 10 segments: auto by default, on, off", () => {
    const auto = { minSeconds: 120, segments: 10, nvencFilmsWholeOnMixedFarm: true };
    expect(loadTranscoderConfig({}).chunking).toEqual(auto);
    expect(loadTranscoderConfig({ CHUNKING: "" }).chunking).toEqual(auto);
    expect(loadTranscoderConfig({ CHUNKING: "auto" }).chunking).toEqual(auto);
    expect(loadTranscoderConfig({ CHUNKING: "on" }).chunking).toEqual({
      ...auto,
      nvencFilmsWholeOnMixedFarm: false,
    });
    const tuned = loadTranscoderConfig({ CHUNKING: "on", CHUNK_MIN_SECONDS: "600", CHUNK_SEGMENTS: "5" });
    expect(tuned.chunking).toEqual({ minSeconds: 600, segments: 5, nvencFilmsWholeOnMixedFarm: false });
    expect(loadTranscoderConfig({ CHUNKING: "off" }).chunking).toBeNull();
  });

  test("a film's pieces wait at most 300 s behind other jobs before one joins their line, CHUNKING off too", () => {
    expect(loadTranscoderConfig({}).filmPiecesMaxWaitSeconds).toBe(300);
    expect(loadTranscoderConfig({ FILM_PIECES_MAX_WAIT_SECONDS: "60" }).filmPiecesMaxWaitSeconds).toBe(60);
  });

  test("the metrics server listens on loopback unless told otherwise (metrics are not public on a host)", () => {
    expect(loadTranscoderConfig({ TRANSCODER_METRICS_HOST: "0.0.0.0" }).metricsHost).toBe("0.0.0.0");
  });

  test("the ladder is sorted and each height kept once; the worker's name makes a safe scratch folder", () => {
    const config = loadTranscoderConfig({
      TRANSCODER_LADDER: "720, 360,720",
      HOSTNAME: "host/a b",
      TRANSCODER_HWACCEL: "auto",
      TRANSCODER_PRESET: "slow",
      TRANSCODER_MIN_FREE_MB: "1",
    });
    expect(config.ladderHeights).toEqual([360, 720]);
    expect(config.workerName).toBe(`host/a b-${process.pid}`);
    expect(config.scratchDir).toBe(join(tmpdir(), "videoflix-scratch", `host_a_b-${process.pid}`));
    expect(config).toMatchObject({ hwaccel: "auto", preset: "slow", minFreeBytes: 1024 * 1024 });
    expect(loadTranscoderConfig({ TRANSCODER_NAME: "w1", TRANSCODER_SCRATCH: "/scratch/w1" })).toMatchObject({
      workerName: "w1",
      scratchDir: "/scratch/w1",
    });
  });

  test("each bad value is refused with a message naming its variable", () => {
    const refusals: [Record<string, string>, string][] = [
      [{ TRANSCODER_HWACCEL: "gpu" }, "TRANSCODER_HWACCEL must be one of none, nvenc, cuda-decode, auto"],
      [{ TRANSCODER_PRESET: "warp" }, "TRANSCODER_PRESET must be one of ultrafast, superfast, veryfast"],
      [
        { TRANSCODER_LADDER: "360,481" },
        'TRANSCODER_LADDER must be comma-separated even heights like 360,480,720,1080, got "360,481"',
      ],
      [{ TRANSCODER_LADDER: "96" }, "TRANSCODER_LADDER must be comma-separated even heights"],
      [{ TRANSCODER_LADDER: "8640" }, "TRANSCODER_LADDER must be comma-separated even heights"],
      [{ TRANSCODER_LADDER: "360,,720" }, "TRANSCODER_LADDER must be comma-separated even heights"],
      [{ REDIS_URL: "http://127.0.0.1:6379" }, 'REDIS_URL must use redis: or rediss:, got "http:"'],
      [{ HLS_SEGMENT_SECONDS: "31" }, 'HLS_SEGMENT_SECONDS must be an integer between 1 and 30, got "31"'],
      [{ TRANSCODER_CONCURRENCY: "0" }, "TRANSCODER_CONCURRENCY must be an integer between 1 and 64"],
      [
        { TRANSCODER_METRICS_PORT: "70000" },
        "TRANSCODER_METRICS_PORT must be an integer between 0 and 65535",
      ],
      [{ TRANSCODER_SHUTDOWN_GRACE_SECONDS: "soon" }, "TRANSCODER_SHUTDOWN_GRACE_SECONDS must be an integer"],
      [{ TRANSCODER_MIN_FREE_MB: "-5" }, "TRANSCODER_MIN_FREE_MB must be an integer between 0 and 1048576"],
      [{ STORAGE_URL: "ftp://media" }, "STORAGE_URL must be file:///path or s3://bucket/prefix"],
      [{ CHUNKING: "yes" }, "CHUNKING must be one of auto, on, off"],
      [{ CHUNK_SEGMENTS: "0" }, "CHUNK_SEGMENTS must be an integer between 1 and 10000"],
      [{ CHUNK_MIN_SECONDS: "2m" }, "CHUNK_MIN_SECONDS must be an integer"],
      [{ FILM_PIECES_MAX_WAIT_SECONDS: "0" }, "FILM_PIECES_MAX_WAIT_SECONDS must be an integer between 1"],
      [{ TRANSCODER_SOURCE_CACHE_MB: "-1" }, "TRANSCODER_SOURCE_CACHE_MB must be an integer between 0"],
      [
        { TRANSCODER_SOURCE_CACHE_IDLE_SECONDS: "0" },
        "TRANSCODER_SOURCE_CACHE_IDLE_SECONDS must be an integer",
      ],
    ];
    for (const [env, message] of refusals) {
      let refused: unknown;
      try {
        loadTranscoderConfig(env);
      } catch (error) {
        refused = error;
      }
      expect({ env, refused: refused instanceof ConfigError }).toEqual({ env, refused: true });
      expect((refused as Error).message).toContain(message);
    }
  });
});

test("bun transcoder/main.ts with a bad setting exits 78 with that line, before connecting to anything", async () => {
  const child = Bun.spawn([process.execPath, resolve(import.meta.dir, "../../transcoder/main.ts")], {
    // A Redis nobody listens on: had the worker got past its config, it would hang reconnecting.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      REDIS_URL: "redis://127.0.0.1:1",
      TRANSCODER_PRESET: "warp",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  expect(code).toBe(78);
  expect(stderr.trim()).toBe(
    "configuration error: TRANSCODER_PRESET must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow",
  );
  expect(stdout).toBe("");
}, 30_000);
