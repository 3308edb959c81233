// Progressive MP4s through the api alone (no edge): a REAL transcoded tree (3 s 640×360, rungs 180p and
// 360p, each with its MP4) published and reported ready like a worker does, and a video whose stored
// result predates MP4s. The catalogue lists signed `mp4_url`s; a player with no cookie plays them with
// byte ranges; a forged, a missing or an expired token is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { outputPrefixFor } from "../../contract/media.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree } from "../support/fixtures.ts";
import { publishRealTree, smallSource, stopRealTree } from "../support/real-tree.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const PUBLIC_URL = "http://api.videoflix.test";
const HOUR = 3600;

let api: TestApi;
let viewer: Client;
let workDir: string;
let transcoder: TestTranscoder;
let videoId: number;
let olderId: number;
let tree: string;

interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  mp4_url?: string;
  size?: number;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-api-mp4-"));
  const sourcePath = await smallSource(workDir);
  api = await startTestApi({ ...ADMIN_ENV, PUBLIC_URL });
  const admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);
  videoId = (await createVideo(api, admin, { title: "With MP4s" })).id;
  olderId = (await createVideo(api, admin, { title: "From before MP4s" })).id;
  ({ tree } = await publishRealTree(api, transcoder, videoId, sourcePath, {
    stagingName: "mp4-api-test",
    ladderHeights: [180, 360],
    thumbnails: false,
  }));
  // A result as stored before MP4s existed: no `mp4` on its renditions.
  const olderStaging = await api.runtime.storage.createStagingDir("mp4-api-test-older");
  publishTree(olderStaging, 0, 0);
  await transcoder.publishReady(olderId, join(olderStaging, outputPrefixFor(0, 0)), fabricatedResult());
  await eventually(
    "both videos ready",
    async () =>
      (await getVideo(admin, videoId)).processing_state === "ready" &&
      (await getVideo(admin, olderId)).processing_state === "ready",
    15_000,
  );
}, 120_000);

afterAll(() => stopRealTree({ transcoder, api, workDir }));

async function renditionsOf(id: number): Promise<Rendition[]> {
  const response = await viewer.get(`/api/videos/${id}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { renditions: Rendition[] }).renditions;
}

/** An mp4_url (absolute, on PUBLIC_URL) fetched from the test api, as a cookie-less <video> would. */
function fetchMp4(url: string, headers: Record<string, string> = {}): Promise<Response> {
  expect(url.startsWith(`${PUBLIC_URL}/`)).toBe(true);
  return fetch(`${api.url}${url.slice(PUBLIC_URL.length)}`, { headers, redirect: "manual" });
}

const fileBytes = (rung: string) => Bun.file(join(tree, rung, "progressive.mp4")).bytes();

describe("the catalogue lists each rung's MP4", () => {
  test("a signed absolute mp4_url and the size, for every rung", async () => {
    const renditions = await renditionsOf(videoId);
    expect(renditions.map((rendition) => rendition.name)).toEqual(["180p", "360p"]);
    for (const rendition of renditions) {
      const url = new URL(rendition.mp4_url!);
      expect(`${url.origin}${url.pathname}`).toBe(
        `${PUBLIC_URL}/api/video/${videoId}/${rendition.name}/progressive.mp4`,
      );
      expect(url.searchParams.get("v")).toBe("1");
      expect(url.searchParams.get("token")).toMatch(/^\d+\.[A-Za-z0-9_-]{22}$/);
      expect(rendition.size).toBe((await fileBytes(rendition.name)).byteLength);
    }
  });

  test("the URL outlives the HLS token: signed for MEDIA_MP4_TOKEN_TTL (12 h)", async () => {
    const [rendition] = await renditionsOf(videoId);
    const expiry = Number(new URL(rendition!.mp4_url!).searchParams.get("token")!.split(".")[0]);
    const left = expiry - Date.now() / 1000;
    expect(left).toBeGreaterThan(12 * HOUR - 60);
    expect(left).toBeLessThan(12 * HOUR + 400);
    expect(api.config.mediaTokenTtlSeconds).toBe(6 * HOUR);
  });

  test("a result stored before MP4s is listed as before, without mp4_url", async () => {
    expect(await renditionsOf(olderId)).toEqual([
      { name: "180p", width: 320, height: 180, bandwidth: 420_000 },
      { name: "144p", width: 256, height: 144, bandwidth: 260_000 },
    ]);
  });
});

describe("the api serves the MP4 when there is no edge", () => {
  test("whole, with its type, length and ranges advertised, byte for byte", async () => {
    const [, rendition] = await renditionsOf(videoId);
    const response = await fetchMp4(rendition!.mp4_url!);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("content-disposition")).toBeNull();
    expect(Number(response.headers.get("content-length"))).toBe(rendition!.size!);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(await fileBytes("360p"));
  });

  test("byte ranges answer 206 with exactly those bytes; past the end 416", async () => {
    const [, rendition] = await renditionsOf(videoId);
    const bytes = await fileBytes("360p");
    const size = bytes.byteLength;
    for (const [header, start, end] of [
      ["bytes=0-0", 0, 0],
      ["bytes=1000-4999", 1000, 4999],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      ["bytes=-321", size - 321, size - 1],
      [`bytes=${size - 10}-${size + 500}`, size - 10, size - 1],
    ] as const) {
      const response = await fetchMp4(rendition!.mp4_url!, { range: header });
      expect(response.status).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${size}`);
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(start, end + 1));
    }
    const beyond = await fetchMp4(rendition!.mp4_url!, { range: `bytes=${size}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${size}`);
    expect(await beyond.json()).toEqual({ detail: expect.stringContaining(`${size} bytes`) });
  });

  test("download=1 sends it as an attachment", async () => {
    const [rendition] = await renditionsOf(videoId);
    const response = await fetchMp4(`${rendition!.mp4_url}&download=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="video-${videoId}-180p.mp4"`,
    );
    await response.arrayBuffer();
  });

  test("a quality the video lacks is answered by the nearest lower rung", async () => {
    const [, rendition] = await renditionsOf(videoId);
    const higher = rendition!.mp4_url!.replace("/360p/", "/1080p/");
    const response = await fetchMp4(`${higher}&download=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="video-${videoId}-360p.mp4"`,
    );
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(await fileBytes("360p"));
  });

  test("a forged token is 403, no token 401, another video's token 403", async () => {
    const [rendition] = await renditionsOf(videoId);
    const url = new URL(rendition!.mp4_url!);
    const token = url.searchParams.get("token")!;
    const dot = token.indexOf(".");
    url.searchParams.set(
      "token",
      `${token.slice(0, dot + 1)}${token[dot + 1] === "A" ? "B" : "A"}${token.slice(dot + 2)}`,
    );
    expect((await fetchMp4(url.toString())).status).toBe(403);
    url.searchParams.delete("token");
    expect((await fetchMp4(url.toString())).status).toBe(401);
    const [older] = await renditionsOf(olderId);
    expect(older!.mp4_url).toBeUndefined();
    const othersToken = new URL((await renditionsOf(videoId))[0]!.mp4_url!).searchParams.get("token")!;
    const foreign = await fetchMp4(
      `${PUBLIC_URL}/api/video/${olderId}/180p/progressive.mp4?v=1&token=${othersToken}`,
    );
    expect(foreign.status).toBe(403);
  });

  test("it still plays after the HLS token has expired, and is refused once its own has", async () => {
    const [rendition] = await renditionsOf(videoId);
    const master = await viewer.get(`/api/video/${videoId}/master.m3u8`);
    const playlistUri = (await master.text()).split("\n").find((line) => line.startsWith("180p/"))!;
    try {
      api.shiftClock(7 * HOUR);
      const playlist = await fetch(`${api.url}/api/video/${videoId}/${playlistUri}`);
      expect(playlist.status).toBe(403);
      const mp4 = await fetchMp4(rendition!.mp4_url!, { range: "bytes=0-99" });
      expect(mp4.status).toBe(206);
      await mp4.arrayBuffer();
      api.shiftClock(6 * HOUR);
      const expired = await fetchMp4(rendition!.mp4_url!);
      expect(expired.status).toBe(403);
      expect(await expired.json()).toEqual({ detail: "The media token has expired." });
    } finally {
      api.shiftClock(-13 * HOUR);
    }
  });
});
