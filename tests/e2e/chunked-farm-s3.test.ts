// One film across two transcoder "hosts" that share only PostgreSQL, Redis and a SeaweedFS bucket
// (issue 14 on object storage): each host downloads the source once into its own scratch (the film's
// job and every piece on that host read that copy) and each piece puts its chunk under the bucket's
// `scratch/flows/` prefix; the film's job fetches them, stitches and publishes. The video ends ready,
// both hosts took pieces, no scratch is left in the bucket, the host that published keeps no file and the
// other only its copy of the source.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bucketClient } from "../../dev/s3-buckets.ts";
import { testS3 } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const workDir = mkdtempSync(join(tmpdir(), "vf-chunked-s3-"));
let bucket: Awaited<ReturnType<typeof testS3>>;
let api: TestApi;
let admin: Client;
const hosts: TranscoderProcess[] = [];

const hostEnv = (host: string) => ({
  ...bucket.env,
  MEDIA_ROOT: join(workDir, host, "media"),
  TRANSCODER_SCRATCH: join(workDir, host, "scratch"),
  CHUNKING: "on",
  CHUNK_MIN_SECONDS: "10",
  CHUNK_SEGMENTS: "2",
  FAST_START: "off",
  // Long enough that no copy expires while the film runs: each host downloads exactly once.
  TRANSCODER_SOURCE_CACHE_IDLE_SECONDS: "600",
});
const filesIn = (dir: string): string[] =>
  existsSync(dir)
    ? (readdirSync(dir, { recursive: true }) as string[]).filter((entry) => entry.includes("."))
    : [];

beforeAll(async () => {
  bucket = await testS3();
  api = await startTestApi({ ...ADMIN_ENV, ...bucket.env, MEDIA_ROOT: join(workDir, "api", "media") });
  admin = await adminClient(api);
  for (const host of ["host-a", "host-b"]) hosts.push(startTranscoder(api, host, hostEnv(host)));
}, 120_000);

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await api?.stop();
  await bucket?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("a film on a farm that shares only a bucket", () => {
  test("both hosts encode its pieces from one download each, the video is ready, no scratch is left anywhere", async () => {
    const source = await farmSource(workDir, "film.mp4", 24, 640, 360);
    const video = await uploadFile(api, admin, source);
    await untilState(admin, video.id, "ready", 180_000);
    const linesOn = (host: TranscoderProcess, message: string) =>
      host
        .logs()
        .split("\n")
        .filter((line) => line.includes(`"${message}"`) && line.includes(`"video_id":${video.id}`)).length;
    const piecesOn = (host: TranscoderProcess) => linesOn(host, "piece encoded");
    for (const host of hosts) expect(piecesOn(host)).toBeGreaterThanOrEqual(1);
    expect(piecesOn(hosts[0]!) + piecesOn(hosts[1]!)).toBe(7);
    // The film's job's two runs and the seven pieces read the source nine times: one download per host.
    for (const host of hosts) expect(linesOn(host, "source downloaded")).toBe(1);
    expect(hosts.reduce((sum, host) => sum + linesOn(host, "source read from this replica's copy"), 0)).toBe(
      7,
    );

    const client = bucketClient(bucket, bucket.bucket);
    const scratch = await client.list({ prefix: "scratch/", maxKeys: 1000 });
    expect((scratch.contents ?? []).map((object) => object.key)).toEqual([]);
    const published = await client.list({ prefix: `videos/${video.id}/`, maxKeys: 1000 });
    const keys = (published.contents ?? []).map((object) => object.key ?? "");
    expect(keys.some((key) => key.endsWith("360p/index.m3u8"))).toBe(true);
    expect(keys.filter((key) => /360p\/seg_\d{5}\.ts$/.test(key))).toHaveLength(12);
    for (const host of ["host-a", "host-b"]) {
      expect(filesIn(join(workDir, host, "scratch", "pieces"))).toEqual([]);
    }
    // The host that published lets its copy go as it ends the job; the other keeps its one copy (until
    // it has been idle for TRANSCODER_SOURCE_CACHE_IDLE_SECONDS).
    const cacheOn = (index: number) =>
      filesIn(join(workDir, `host-${"ab"[index]}`, "scratch", "source-cache"));
    const publisher = () => hosts.findIndex((host) => linesOn(host, "job ready") === 1);
    await eventually(
      "the publishing host to let its source copy go",
      async () => publisher() >= 0 && cacheOn(publisher()).length === 0,
      10_000,
    );
    expect(cacheOn(1 - publisher())).toHaveLength(1);
  }, 240_000);
});
