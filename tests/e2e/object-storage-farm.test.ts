// The farm on object storage, as separate hosts would run it: the api and every transcoder have their
// own directories and share nothing but PostgreSQL, Redis and a SeaweedFS bucket (real, signed S3).
// Two transcoders take turns; playback goes from the api's playlists straight to presigned URLs (hls.js
// in Chromium for one video); a replacement keeps the old revision playable until the new one is
// published and for its grace period; a delete empties the video's prefix; a transcoder killed while
// uploading its outputs is replaced by another, and nothing of the dead attempt stays published.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { eq } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { videos } from "../../db/schema/index.ts";
import { bucketClient } from "../../dev/s3-buckets.ts";
import { testS3 } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient, sendAs } from "../support/admin.ts";
import { launchChromium, servePlayerPage } from "../support/browser.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  startTranscoder,
  type TranscoderProcess,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { startSlowLink } from "../support/slow-link.ts";
import {
  type Client,
  createActiveUser,
  loggedInClient,
  startTestApi,
  type TestApi,
} from "../support/test-api.ts";

const GRACE_SECONDS = 2;

const workDir = mkdtempSync(join(tmpdir(), "vf-s3-farm-"));
let bucket: Awaited<ReturnType<typeof testS3>>;
let api: TestApi;
let admin: Client;
let viewer: Client;
let pages: Server<undefined>;
let browser: Browser;
const transcoders: TranscoderProcess[] = [];

/** What one "host" has: its own scratch and an empty media directory nobody else can see. */
const hostEnv = (host: string, endpoint = bucket.endpoint) => ({
  ...bucket.env,
  S3_ENDPOINT: endpoint,
  MEDIA_ROOT: join(workDir, host, "media"),
  TRANSCODER_SCRATCH: join(workDir, host, "scratch"),
});
const startHost = (host: string, endpoint?: string) => {
  const worker = startTranscoder(api, host, hostEnv(host, endpoint));
  transcoders.push(worker);
  return worker;
};

const objectsUnder = async (prefix: string) => {
  const client = bucketClient(bucket, bucket.bucket);
  const listed = await client.list({ prefix, maxKeys: 1000 });
  return (listed.contents ?? []).map((object) => ({
    key: object.key,
    lastModified: Date.parse(object.lastModified ?? "0"),
  }));
};
/** Files under a scratch folder; a folder its worker removes while we read it holds none. */
const filesIn = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((entry) => entry.includes("."));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
};

/** The viewer's way to a rung's segments: master → media playlist, as the api renders them. */
async function segmentUrls(client: Client, videoId: number): Promise<{ revision: string; urls: string[] }> {
  const master = await client.get(`/api/video/${videoId}/master.m3u8`);
  expect(master.status).toBe(200);
  const rungUris = (await master.text()).split("\n").filter((line) => line && !line.startsWith("#"));
  const revision = /[?&]v=(\d+)/.exec(rungUris[0]!)?.[1] ?? "";
  const urls: string[] = [];
  for (const uri of rungUris) {
    const media = await client.get(`/api/video/${videoId}/${uri}`);
    expect(media.status).toBe(200);
    urls.push(...(await media.text()).split("\n").filter((line) => line && !line.startsWith("#")));
  }
  return { revision, urls };
}

beforeAll(async () => {
  pages = servePlayerPage();
  bucket = await testS3();
  api = await startTestApi({
    ...ADMIN_ENV,
    ...bucket.env,
    MEDIA_ROOT: join(workDir, "api", "media"),
    CORS_ORIGINS: `http://127.0.0.1:${pages.port}`,
    RETIRED_REVISION_GRACE_SECONDS: String(GRACE_SECONDS),
    // Swept by hand below, at the moments the test chooses.
    STORAGE_SWEEP_INTERVAL_SECONDS: "86400",
  });
  [admin, viewer] = await Promise.all([adminClient(api), loggedInClient(api)]);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await Promise.all(transcoders.map((worker) => worker.kill9()));
  await browser?.close();
  pages?.stop(true);
  await api?.stop();
  await bucket?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("a farm that shares only PostgreSQL, Redis and a bucket", () => {
  let first: number;

  test("two transcoders take one job each; every segment plays from presigned URLs; no host kept media", async () => {
    const [hostA, hostB] = [startHost("host-a"), startHost("host-b")];
    const [sourceA, sourceB] = await Promise.all([
      farmSource(workDir, "a.mp4", 4, 640, 360),
      farmSource(workDir, "b.mp4", 4, 640, 360),
    ]);
    const one = await uploadFile(api, admin, sourceA);
    const two = await uploadFile(api, admin, sourceB);
    first = one.id;
    await Promise.all([untilState(admin, one.id, "ready"), untilState(admin, two.id, "ready")]);
    const readyOn = (worker: TranscoderProcess) =>
      worker
        .logs()
        .split("\n")
        .filter((line) => line.includes('"job ready"'))
        .map((line) => JSON.parse(line).video_id as number);
    expect([...readyOn(hostA), ...readyOn(hostB)].sort()).toEqual([one.id, two.id].sort());
    expect(readyOn(hostA)).toHaveLength(1);
    expect(readyOn(hostB)).toHaveLength(1);

    for (const id of [one.id, two.id]) {
      const { urls } = await segmentUrls(viewer, id);
      expect(urls.length).toBeGreaterThanOrEqual(2);
      for (const url of urls) {
        // Straight to the store, signed: the api passes no segment bytes.
        expect(url.startsWith(`${bucket.endpoint}/`)).toBe(true);
        expect(url).toContain("X-Amz-Signature=");
        const segment = await fetch(url);
        expect(segment.status).toBe(200);
        expect(new Uint8Array(await segment.arrayBuffer())[0]).toBe(0x47); // MPEG-TS sync byte
      }
    }
    // The api's own segment URL answers with a redirect to the store after its access check.
    const media = await (await viewer.get(`/api/video/${one.id}/360p/index.m3u8`)).text();
    expect(media).toContain("X-Amz-Signature=");
    const master = await (await viewer.get(`/api/video/${one.id}/master.m3u8`)).text();
    const token = /token=([^&\s]+)/.exec(master)![1];
    const direct = await fetch(`${api.url}/api/video/${one.id}/360p/seg_00000.ts?v=1&token=${token}`, {
      redirect: "manual",
    });
    expect(direct.status).toBe(302);
    expect(direct.headers.get("location")).toContain("X-Amz-Signature=");
    expect(
      (await fetch(`${api.url}/api/video/${one.id}/360p/seg_00000.ts`, { redirect: "manual" })).status,
    ).toBe(401);
    expect((await fetch(`${api.url}/api/video/${one.id}/360p/index.m3u8`)).status).toBe(401);

    // Nothing went to any host's disk to stay: media directories empty, scratch cleaned after each job.
    for (const host of ["api", "host-a", "host-b"]) {
      expect(filesIn(join(workDir, host, "media"))).toEqual([]);
      expect(filesIn(join(workDir, host, "scratch"))).toEqual([]);
    }
  }, 180_000);

  test("hls.js in Chromium plays one of them: playlists from the api, segments from the bucket", async () => {
    const account = await createActiveUser(api);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const fromStore: number[] = [];
      page.on("response", (response) => {
        if (response.url().startsWith(`${bucket.endpoint}/`)) fromStore.push(response.status());
      });
      await page.goto(`http://127.0.0.1:${pages.port}/`);
      const heights = await page.evaluate(
        ([base, credentials, id]) =>
          (window as unknown as { startPlayback: (...args: unknown[]) => Promise<number[]> }).startPlayback(
            base,
            credentials,
            id,
          ),
        [api.url, account, first] as const,
      );
      expect(heights.length).toBeGreaterThan(0);
      await page.waitForFunction(
        () => (document.getElementById("player") as HTMLVideoElement).currentTime > 2,
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.evaluate(() => (window as unknown as { errors: string[] }).errors)).toEqual([]);
      expect(fromStore.length).toBeGreaterThan(1);
      expect(fromStore.every((status) => status === 200 || status === 206)).toBe(true);
    } finally {
      await context.close();
    }
  }, 90_000);

  test("a replacement keeps the old revision playable until it is published, and for its grace period", async () => {
    const before = await segmentUrls(viewer, first);
    expect(before.revision).toBe("1");
    const replaced = await uploadFile(api, admin, await farmSource(workDir, "a2.mp4", 2, 640, 360), first);
    expect(replaced.revision).toBe(2);
    // While r2 is being made, viewers get r1 and its segments still load.
    const during = await segmentUrls(viewer, first);
    expect(during.revision).toBe("1");
    expect((await fetch(before.urls[0]!)).status).toBe(200);
    await untilState(admin, first, "ready");
    expect((await segmentUrls(viewer, first)).revision).toBe("2");
    // A viewer mid-playlist of r1 keeps going through the grace period...
    expect((await fetch(before.urls.at(-1)!)).status).toBe(200);
    expect(await api.runtime.sweepStorage()).toEqual({
      retired: 0,
      orphaned: 0,
      uploads: 0,
      expiredUploads: 0,
      orphanSources: 0,
    });
    expect((await objectsUnder(`videos/${first}/r1/`)).length).toBeGreaterThan(0);
    // ...and after it the sweeper removes r1, and only r1.
    await Bun.sleep(GRACE_SECONDS * 1000 + 500);
    expect((await api.runtime.sweepStorage()).retired).toBe(1);
    expect(await objectsUnder(`videos/${first}/r1/`)).toEqual([]);
    expect((await objectsUnder(`videos/${first}/r2/`)).length).toBeGreaterThan(0);
    expect((await fetch(before.urls[0]!)).status).toBe(404);
  }, 120_000);

  test("a delete removes every object of the video, its source included", async () => {
    const [row] = await api.database.db.select().from(videos).where(eq(videos.id, first));
    expect((await objectsUnder(row!.sourceKey)).length).toBe(1);
    expect((await sendAs(api, admin, "DELETE", `/api/admin/videos/${first}`)).status).toBe(204);
    expect(await objectsUnder(`videos/${first}/`)).toEqual([]);
    expect(await objectsUnder(row!.sourceKey)).toEqual([]);
  });

  test("a tree no row publishes or is making is swept once it is older than the grace period", async () => {
    const client = bucketClient(bucket, bucket.bucket);
    await client.write("videos/987654/r3/360p/seg_00000.ts", "left by a job whose video is gone");
    expect((await api.runtime.sweepStorage()).orphaned).toBe(0); // too fresh: could be an upload in flight
    await Bun.sleep(GRACE_SECONDS * 1000 + 1200);
    expect((await api.runtime.sweepStorage()).orphaned).toBe(1);
    expect(await objectsUnder("videos/987654/")).toEqual([]);
  }, 30_000);

  test("a transcoder killed while uploading its outputs: another finishes, nothing of the dead attempt stays", async () => {
    for (const worker of transcoders.splice(0)) await worker.stop();
    // Host C reaches the store over a slow link, so its upload takes long enough to be interrupted.
    const slow = await startSlowLink(
      { hostname: "127.0.0.1", port: Number(new URL(bucket.endpoint).port) },
      25,
    );
    try {
      const hostC = startHost("host-c", slow.endpoint);
      const created = await uploadFile(api, admin, await farmSource(workDir, "c.mp4", 6, 640, 360));
      const prefix = `videos/${created.id}/r1/`;
      await eventually(
        "host C to be uploading (segments in the bucket, no playlist yet)",
        async () => {
          const keys = (await objectsUnder(prefix)).map((object) => object.key);
          if (keys.some((key) => key.endsWith(".m3u8")))
            throw new Error("the upload finished before the kill");
          return keys.length > 0;
        },
        60_000,
        20,
      );
      const killedAt = Date.now();
      await hostC.kill9();
      expect((await objectsUnder(`${prefix}master.m3u8`)).length).toBe(0);

      startHost("host-d");
      await untilState(admin, created.id, "ready", 120_000);
      // Every object viewers can reach was written by the attempt that finished (S3 keeps seconds).
      const published = await objectsUnder(prefix);
      expect(published.length).toBeGreaterThan(0);
      for (const object of published)
        expect(object.lastModified).toBeGreaterThanOrEqual(Math.floor(killedAt / 1000) * 1000);
      const { urls } = await segmentUrls(viewer, created.id);
      for (const url of urls) expect((await fetch(url)).status).toBe(200);
      expect(await api.runtime.sweepStorage()).toEqual({
        retired: 0,
        orphaned: 0,
        uploads: 0,
        expiredUploads: 0,
        orphanSources: 0,
      });
      // Host C's scratch is its own: whatever the killed attempt left is removed when it starts again.
      expect(filesIn(join(workDir, "host-c", "scratch")).length).toBeGreaterThan(0);
      const restarted = startHost("host-c", slow.endpoint);
      await eventually(
        "host C to clean its scratch",
        async () => filesIn(join(workDir, "host-c", "scratch")).length === 0,
      );
      await restarted.stop();
    } finally {
      slow.stop();
    }
  }, 240_000);
});
